// Thin POSIX wrappers for the spool (internal): an owning file descriptor,
// EINTR-safe calls, and SpoolError messages that name the path, the system's
// reason and the fix where there is one.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace xr::spool::posix {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// Throws SpoolError: "<what> <path>: <strerror(err)>[; <fix>]".
[[noreturn]] void fail(std::string_view what, const std::string& path, int err, std::string_view fix = {});
// The fix for EACCES/EPERM/ENOSPC/EROFS-style errors ("" when none applies).
std::string fix_for(int err, const std::string& path);

// openat() retried on EINTR, always O_CLOEXEC; -1 with errno set on failure.
int open_at(int dirfd, const std::string& name, int flags, mode_t mode = 0);
// Writes everything (retrying short writes and EINTR); throws SpoolError.
void write_all(int fd, const char* data, std::size_t len, const std::string& path);
void pwrite_all(int fd, const char* data, std::size_t len, off_t offset, const std::string& path);
// Reads up to `len` bytes at `offset`, fewer only at end of file; throws SpoolError.
std::size_t pread_full(int fd, char* buf, std::size_t len, off_t offset, const std::string& path);
void fsync_fd(int fd, const std::string& path);
// flock() retried on EINTR; false with errno set on failure (EWOULDBLOCK: held).
bool lock_fd(int fd, int operation);
// mkdirat 0700 when missing, then the mode forced to 0700 whatever the umask.
// Returns true when it created the directory.
bool make_dir_at(int dirfd, const std::string& name, const std::string& path);

}  // namespace xr::spool::posix
