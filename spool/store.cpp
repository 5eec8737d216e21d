// Opening the spool: create it (0700) when asked, refuse one we do not own or
// that others can read (messages are private mail), take the relay's lock.
#include "spool/entry_file.hpp"
#include "spool/queue_id.hpp"
#include "spool/store_impl.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <filesystem>

namespace xr::spool {
namespace {

std::string user_name(uid_t uid) {
  passwd pw{};
  passwd* found = nullptr;
  char buf[4096];
  if (::getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found) return found->pw_name;
  return std::to_string(uid);
}

// mkdir -p with mode 0700 for every directory it creates.
void create_parents(const std::string& dir) {
  std::filesystem::path so_far;
  for (const auto& part : std::filesystem::path(dir)) {
    so_far /= part;
    if (part == "/" || part.empty()) continue;
    posix::make_dir_at(AT_FDCWD, so_far.string(), so_far.string());
  }
}

// Ours, a directory, nobody else's business, writable.
void check_dir(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) posix::fail("cannot stat", path, errno);
  if (!S_ISDIR(st.st_mode)) throw SpoolError("spool: " + path + " is not a directory; check spool.dir");
  const uid_t me = ::geteuid();
  if (st.st_uid != me) {
    const std::string owner = user_name(st.st_uid), self = user_name(me);
    throw SpoolError(fmt::format(
        "spool: {} is owned by {} but this process runs as {}; run as its owner (sudo -u {} xoauth2-relay ...) "
        "or give it to this user: chown -R {}: {}",
        path, owner, self, owner, self, path));
  }
  if ((st.st_mode & 077) != 0)
    throw SpoolError(fmt::format("spool: {} is accessible by group or others (mode {:04o}); it holds mail: chmod 700 {}",
                                 path, st.st_mode & 07777, path));
  if (::faccessat(fd, ".", W_OK | X_OK, AT_EACCESS) != 0) posix::fail("spool directory not writable:", path, errno,
                                                                       "chmod 700 " + path);
}

posix::Fd open_dir(int at, const std::string& name, const std::string& path, bool create) {
  if (create) posix::make_dir_at(at, name, path);
  posix::Fd fd(posix::open_at(at, name, O_RDONLY | O_DIRECTORY));
  if (!fd) {
    if (errno == ENOENT)
      posix::fail("spool directory missing:", path, errno,
                  "check spool.dir in the configuration; the relay creates it when it starts");
    if (errno == ENOTDIR) throw SpoolError("spool: " + path + " is not a directory; check spool.dir");
    posix::fail("cannot open spool directory", path, errno);
  }
  check_dir(fd.get(), path);
  return fd;
}

// flock on <dir>/lock for the relay's lifetime; our pid inside for the
// message the next relay gets.
posix::Fd take_relay_lock(const SpoolDirs& d) {
  const std::string path = d.path("lock", "");
  posix::Fd fd(posix::open_at(d.root_fd.get(), "lock", O_RDWR | O_CREAT, 0600));
  if (!fd) posix::fail("cannot open", path, errno);
  if (!posix::lock_fd(fd.get(), LOCK_EX | LOCK_NB)) {
    if (errno != EWOULDBLOCK) posix::fail("cannot lock", path, errno);
    char pid[32] = {};
    posix::pread_full(fd.get(), pid, sizeof pid - 1, 0, path);
    std::string who(pid);
    while (!who.empty() && (who.back() == '\n' || who.back() == ' ')) who.pop_back();
    throw SpoolError(fmt::format(
        "spool: {} is held by another xoauth2-relay{}: one relay per spool; stop it or give this one its own spool.dir",
        path, who.empty() ? "" : " (pid " + who + ")"));
  }
  ::fchmod(fd.get(), 0600);
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) == 0) posix::pwrite_all(fd.get(), pid.data(), pid.size(), 0, path);
  return fd;
}

}  // namespace

Store::Store(Options opts) : impl_(std::make_unique<Impl>()) {
  auto d = std::make_shared<SpoolDirs>();
  d->root = opts.dir;
  while (d->root.size() > 1 && d->root.back() == '/') d->root.pop_back();
  if (d->root.empty()) throw SpoolError("spool: no directory given (spool.dir)");
  if (opts.create) create_parents(d->root);
  d->root_fd = open_dir(AT_FDCWD, d->root, d->root, false);
  // The subdirectories are created even for the CLI: the spool itself is
  // already there and ours, and they are private to it.
  d->tmp = open_dir(d->root_fd.get(), "tmp", d->path("tmp", ""), true);
  d->queue = open_dir(d->root_fd.get(), "queue", d->path("queue", ""), true);
  d->state = open_dir(d->root_fd.get(), "state", d->path("state", ""), true);
  if (opts.exclusive) impl_->lock = take_relay_lock(*d);
  impl_->dirs = std::move(d);
}

Store::~Store() = default;

const std::string& Store::dir() const { return impl_->dirs->root; }

Writer Store::begin(const Envelope& envelope) {
  if (!valid_queue_id(envelope.id)) throw SpoolError("spool: invalid queue id \"" + envelope.id + "\"");
  auto w = std::make_unique<Writer::Impl>();
  w->dirs = impl_->dirs;
  w->id = envelope.id;
  const std::string path = w->dirs->path("tmp", w->id);
  w->fd = posix::Fd(posix::open_at(w->dirs->tmp.get(), w->id, O_WRONLY | O_CREAT | O_EXCL, 0600));
  if (!w->fd) posix::fail("cannot create", path, errno);
  if (::fchmod(w->fd.get(), 0600) != 0) {
    int err = errno;
    w->discard();
    posix::fail("cannot chmod 600", path, err);
  }
  const std::string env = encode_envelope(envelope);
  w->envelope_size = env.size();
  w->buffer.reserve(kWriteBuffer);
  w->buffer.append(header_line(env.size(), 0));
  w->buffer += env;
  w->buffer += '\n';
  w->header_size = w->buffer.size();
  return Writer(std::move(w));
}

std::uint64_t Store::free_bytes() const {
  struct statvfs sv {};
  for (;;) {
    if (::fstatvfs(impl_->dirs->root_fd.get(), &sv) == 0) break;
    if (errno != EINTR) posix::fail("cannot statvfs", impl_->dirs->root, errno);
  }
  return static_cast<std::uint64_t>(sv.f_bavail) * sv.f_frsize;
}

}  // namespace xr::spool
