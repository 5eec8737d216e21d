// Exclusive access to one entry, and the two changes made under it: a new
// state (rename over the old one) and removal (queue file first: once its
// unlink is durable the message can never be delivered again).
#include "spool/entry_file.hpp"
#include "spool/queue_id.hpp"
#include "spool/store_impl.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

namespace xr::spool {
namespace {

// Waits for the flock up to `wait_ms` (flock has no timeout; the CLI is the
// only caller that waits, so polling is fine). False when still held.
bool lock_within(int fd, int wait_ms, const std::string& path) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(std::max(wait_ms, 0));
  auto pause = std::chrono::milliseconds(5);
  for (;;) {
    if (posix::lock_fd(fd, LOCK_EX | LOCK_NB)) return true;
    if (errno != EWOULDBLOCK) posix::fail("cannot lock", path, errno);
    const auto now = Clock::now();
    if (now >= deadline) return false;
    std::this_thread::sleep_for(std::min<Clock::duration>(pause, deadline - now));
    pause = std::min(pause * 2, std::chrono::milliseconds(100));
  }
}

}  // namespace

std::optional<LockedEntry> Store::lock(std::string_view id, int wait_ms, bool* busy) {
  if (busy) *busy = false;
  if (!valid_queue_id(id)) return std::nullopt;
  const std::string name(id);
  auto impl = std::make_unique<LockedEntry::Impl>();
  impl->dirs = impl_->dirs;
  const SpoolDirs& d = *impl->dirs;
  const std::string path = d.path("queue", name);
  impl->fd = posix::Fd(posix::open_at(d.queue.get(), name, O_RDONLY));
  if (!impl->fd) {
    if (errno == ENOENT) return std::nullopt;
    posix::fail("cannot open", path, errno);
  }
  if (!lock_within(impl->fd.get(), wait_ms, path)) {
    if (busy) *busy = true;
    return std::nullopt;
  }
  // Whoever held the lock may have removed the entry meanwhile.
  struct stat st {};
  if (::fstat(impl->fd.get(), &st) != 0) posix::fail("cannot stat", path, errno);
  if (st.st_nlink == 0) return std::nullopt;
  std::string error;
  if (!read_queue_file(impl->fd.get(), path, name, impl->entry, impl->data_offset, error) ||
      !read_state_file(d, name, impl->entry, error))
    throw SpoolError("spool: damaged entry " + path + ": " + error + "; the relay moves it to corrupt/ when it starts");
  return LockedEntry(std::move(impl));
}

void Store::write_state(LockedEntry& e, const DeliveryState& s) {
  auto& le = *e.impl_;
  const SpoolDirs& d = *le.dirs;
  const std::string& id = le.entry.envelope.id;
  if (le.removed) throw SpoolError("spool: state written for removed entry " + id);
  // One writer per entry (the lock holder), so a fixed temporary name is safe.
  const std::string tmp = id + ".tmp";
  const std::string tmp_path = d.path("state", tmp);
  const std::string text = encode_state(s) + "\n";
  {
    posix::Fd fd(posix::open_at(d.state.get(), tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600));
    if (!fd) posix::fail("cannot create", tmp_path, errno);
    try {
      if (::fchmod(fd.get(), 0600) != 0) posix::fail("cannot chmod 600", tmp_path, errno);
      posix::write_all(fd.get(), text.data(), text.size(), tmp_path);
      posix::fsync_fd(fd.get(), tmp_path);
    } catch (...) {
      ::unlinkat(d.state.get(), tmp.c_str(), 0);
      throw;
    }
  }
  if (::renameat(d.state.get(), tmp.c_str(), d.state.get(), id.c_str()) != 0) {
    int err = errno;
    ::unlinkat(d.state.get(), tmp.c_str(), 0);
    posix::fail("cannot rename " + tmp_path + " to", d.path("state", id), err);
  }
  posix::fsync_fd(d.state.get(), d.path("state", ""));
  le.entry.state = s;
}

void Store::remove(LockedEntry& e) {
  auto& le = *e.impl_;
  const SpoolDirs& d = *le.dirs;
  const std::string& id = le.entry.envelope.id;
  if (!le.removed) {
    if (::unlinkat(d.queue.get(), id.c_str(), 0) != 0 && errno != ENOENT)
      posix::fail("cannot remove", d.path("queue", id), errno);
    posix::fsync_fd(d.queue.get(), d.path("queue", ""));  // from here on: never delivered again
    le.removed = true;
  }
  if (::unlinkat(d.state.get(), id.c_str(), 0) != 0) {
    if (errno == ENOENT) return;
    posix::fail("cannot remove", d.path("state", id), errno);
  }
  posix::fsync_fd(d.state.get(), d.path("state", ""));
}

}  // namespace xr::spool
