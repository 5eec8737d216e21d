#include "spool/posix.hpp"

#include "spool/store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace xr::spool::posix {

void Fd::reset(int fd) {
  // close() is not retried on EINTR: on Linux the descriptor is gone anyway.
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

std::string fix_for(int err, const std::string& path) {
  switch (err) {
    case EACCES:
    case EPERM:
      return "the relay's user must own it: chown -R xoauth2-relay: " + path + " && chmod 700 " + path;
    case ENOSPC:
    case EDQUOT:
      return "the file system is full: free space or lower spool.max_size";
    case EROFS:
      return "the file system is read-only: remount it read-write or choose another spool.dir";
    default:
      return {};
  }
}

void fail(std::string_view what, const std::string& path, int err, std::string_view fix) {
  std::string msg(what);
  msg += ' ';
  msg += path;
  msg += ": ";
  msg += std::strerror(err);
  std::string fix_text = fix.empty() ? fix_for(err, path) : std::string(fix);
  if (!fix_text.empty()) msg += "; " + fix_text;
  throw SpoolError(msg);
}

int open_at(int dirfd, const std::string& name, int flags, mode_t mode) {
  for (;;) {
    int fd = ::openat(dirfd, name.c_str(), flags | O_CLOEXEC, mode);
    if (fd >= 0 || errno != EINTR) return fd;
  }
}

void write_all(int fd, const char* data, std::size_t len, const std::string& path) {
  while (len > 0) {
    ssize_t n = ::write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write", path, errno);
    }
    data += n;
    len -= static_cast<std::size_t>(n);
  }
}

void pwrite_all(int fd, const char* data, std::size_t len, off_t offset, const std::string& path) {
  while (len > 0) {
    ssize_t n = ::pwrite(fd, data, len, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write", path, errno);
    }
    data += n;
    offset += n;
    len -= static_cast<std::size_t>(n);
  }
}

std::size_t pread_full(int fd, char* buf, std::size_t len, off_t offset, const std::string& path) {
  std::size_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd, buf + done, len - done, offset + static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot read", path, errno);
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

void fsync_fd(int fd, const std::string& path) {
  for (;;) {
    if (::fsync(fd) == 0) return;
    if (errno != EINTR) fail("cannot fsync", path, errno);
  }
}

bool lock_fd(int fd, int operation) {
  for (;;) {
    if (::flock(fd, operation) == 0) return true;
    if (errno != EINTR) return false;
  }
}

bool make_dir_at(int dirfd, const std::string& name, const std::string& path) {
  if (::mkdirat(dirfd, name.c_str(), 0700) != 0) {
    if (errno == EEXIST) return false;
    fail("cannot create directory", path, errno);
  }
  // mkdir's mode is filtered by the umask; make it exactly 0700.
  if (::fchmodat(dirfd, name.c_str(), 0700, 0) != 0) fail("cannot chmod 700", path, errno);
  return true;
}

}  // namespace xr::spool::posix
