#include "conf/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace xr::conf {
namespace {

// An open file descriptor, closed on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::optional<std::string> open_regular(const std::string& path, Fd& f) {
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (f.fd < 0) return "cannot open " + path + ": " + std::strerror(errno);
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) return "cannot stat " + path + ": " + std::strerror(errno);
  if (S_ISDIR(st.st_mode)) return path + " is a directory; expected a file";
  return std::nullopt;
}

}  // namespace

std::string resolve_path(const std::string& base_dir, const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_relative()) p = std::filesystem::path(base_dir) / p;
  return p.lexically_normal().string();
}

std::optional<std::string> check_readable(const std::string& path) {
  Fd f;
  return open_regular(path, f);
}

std::optional<std::string> read_secret_file(const std::string& path, Secret& out) {
  Fd f;
  if (auto err = open_regular(path, f)) return err;
  std::string data;
  char buf[4096];
  // Reserved up front so appending never reallocates and leaves stray
  // copies of the secret in freed memory.
  data.reserve(64 * 1024 + sizeof buf);
  for (;;) {
    ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      explicit_bzero(buf, sizeof buf);
      Secret wipe(std::move(data));  // its destructor clears what was read
      return "cannot read " + path + ": " + std::strerror(e);
    }
    if (n == 0) break;
    data.append(buf, std::size_t(n));
    if (data.size() > 64 * 1024) {
      explicit_bzero(buf, sizeof buf);
      Secret wipe(std::move(data));
      return path + " is larger than 64 KiB; it should hold only the client secret";
    }
  }
  explicit_bzero(buf, sizeof buf);
  if (!data.empty() && data.back() == '\n') {
    data.pop_back();
    if (!data.empty() && data.back() == '\r') data.pop_back();
  }
  if (data.empty()) return path + " is empty; put the client secret's value in it";
  out = Secret(std::move(data));
  return std::nullopt;
}

}  // namespace xr::conf
