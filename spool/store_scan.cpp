// Reading the whole queue: at the relay's start (recovery: tmp/ emptied,
// orphaned state files removed, damaged entries set aside in corrupt/) and
// for `queue list` (read only). Entries are read without their lock: queue
// files never change and state files are replaced by rename, so a reader
// sees either the old or the new state, never half of one.
#include "spool/entry_file.hpp"
#include "spool/queue_id.hpp"
#include "spool/store_impl.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace xr::spool {
namespace {

std::vector<std::string> list_names(int dirfd, const std::string& path) {
  posix::Fd fd(posix::open_at(dirfd, ".", O_RDONLY | O_DIRECTORY));
  if (!fd) posix::fail("cannot open", path, errno);
  DIR* dir = ::fdopendir(fd.get());
  if (!dir) posix::fail("cannot list", path, errno);
  fd.release();  // owned by dir now
  std::vector<std::string> names;
  errno = 0;
  while (dirent* de = ::readdir(dir)) {
    std::string name = de->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
    errno = 0;
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0) posix::fail("cannot list", path, err);
  std::sort(names.begin(), names.end());
  return names;
}

enum class ReadResult { ok, gone, damaged };

// Reads queue/<id> and state/<id>; `fd` gets the open queue file.
ReadResult read_entry(const SpoolDirs& d, const std::string& id, Entry& out, posix::Fd& fd,
                      std::uint64_t& data_offset, std::string& error) {
  const std::string path = d.path("queue", id);
  fd = posix::Fd(posix::open_at(d.queue.get(), id, O_RDONLY));
  if (!fd) {
    if (errno == ENOENT) return ReadResult::gone;
    posix::fail("cannot open", path, errno);
  }
  if (!read_queue_file(fd.get(), path, id, out, data_offset, error)) return ReadResult::damaged;
  if (!read_state_file(d, id, out, error)) return ReadResult::damaged;
  return ReadResult::ok;
}

// queue/<id> -> corrupt/<id>, state/<id> -> corrupt/<id>.state, for a person
// to look at; never delivered.
void move_to_corrupt(const SpoolDirs& d, const std::string& id) {
  const std::string corrupt_path = d.path("corrupt", "");
  posix::make_dir_at(d.root_fd.get(), "corrupt", corrupt_path);
  posix::Fd corrupt(posix::open_at(d.root_fd.get(), "corrupt", O_RDONLY | O_DIRECTORY));
  if (!corrupt) posix::fail("cannot open", corrupt_path, errno);
  if (::renameat(d.queue.get(), id.c_str(), corrupt.get(), id.c_str()) != 0 && errno != ENOENT)
    posix::fail("cannot move " + d.path("queue", id) + " to", d.path("corrupt", id), errno);
  const std::string state_name = id + ".state";
  if (::renameat(d.state.get(), id.c_str(), corrupt.get(), state_name.c_str()) != 0 && errno != ENOENT)
    posix::fail("cannot move " + d.path("state", id) + " to", d.path("corrupt", state_name), errno);
  posix::fsync_fd(corrupt.get(), corrupt_path);
  posix::fsync_fd(d.queue.get(), d.path("queue", ""));
  posix::fsync_fd(d.state.get(), d.path("state", ""));
}

bool queue_file_exists(const SpoolDirs& d, const std::string& id) {
  struct stat st {};
  if (::fstatat(d.queue.get(), id.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) return true;
  if (errno != ENOENT) posix::fail("cannot stat", d.path("queue", id), errno);
  return false;
}

}  // namespace

Store::Scan Store::scan(bool remove_temp) {
  const SpoolDirs& d = *impl_->dirs;
  Scan out;
  if (remove_temp) {
    for (const auto& name : list_names(d.tmp.get(), d.path("tmp", "")))
      if (::unlinkat(d.tmp.get(), name.c_str(), 0) == 0) ++out.temp_removed;
  }
  for (const auto& id : list_names(d.queue.get(), d.path("queue", ""))) {
    if (!valid_queue_id(id)) continue;  // not ours (an editor's backup?): left alone
    Entry e;
    posix::Fd fd;
    std::uint64_t offset = 0;
    std::string error;
    switch (read_entry(d, id, e, fd, offset, error)) {
      case ReadResult::gone: break;
      case ReadResult::ok: out.entries.push_back(std::move(e)); break;
      case ReadResult::damaged:
        out.unreadable.push_back(id);
        if (remove_temp) move_to_corrupt(d, id);
        break;
    }
  }
  if (remove_temp) {
    std::size_t removed = 0;
    for (const auto& name : list_names(d.state.get(), d.path("state", ""))) {
      // Valid ids without a queue file are orphans (a crash between the two
      // unlinks of a removal); anything else is a write_state() temporary.
      const bool temporary = !valid_queue_id(name);
      if (!temporary && queue_file_exists(d, name)) continue;
      if (::unlinkat(d.state.get(), name.c_str(), 0) != 0) continue;
      ++removed;
      if (temporary)
        ++out.temp_removed;
      else
        ++out.orphan_states_removed;
    }
    if (removed) posix::fsync_fd(d.state.get(), d.path("state", ""));
  }
  // list_names sorts, and ids sort by age.
  return out;
}

std::optional<Entry> Store::load(std::string_view id) {
  if (!valid_queue_id(id)) return std::nullopt;
  const SpoolDirs& d = *impl_->dirs;
  Entry e;
  posix::Fd fd;
  std::uint64_t offset = 0;
  std::string error;
  const std::string name(id);
  switch (read_entry(d, name, e, fd, offset, error)) {
    case ReadResult::gone: return std::nullopt;
    case ReadResult::ok: return e;
    case ReadResult::damaged: break;
  }
  throw SpoolError("spool: damaged entry " + d.path("queue", name) + ": " + error +
                   "; the relay moves it to corrupt/ when it starts");
}

}  // namespace xr::spool
