#include "conf/files.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

namespace xr::conf {
namespace {

// An open file descriptor, closed on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a regular file";
}

// For a private file another user owns: after chmod 600 only that owner
// could read it, so say how the relay's user gets it.
std::string owner_note(uid_t owner) {
  const uid_t me = ::geteuid();
  if (owner == me) return {};
  std::string name = std::to_string(me);
  std::vector<char> buf(16384);
  struct passwd pw {};
  struct passwd* found = nullptr;
  if (::getpwuid_r(me, &pw, buf.data(), buf.size(), &found) == 0 && found) name = found->pw_name;
  return "it belongs to uid " + std::to_string(owner) + ", not to the relay's user: chown " + name + " the file "
         "first, or hand it over with systemd's LoadCredential=";
}

// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer,
// and a reload would hang there. It changes nothing for a regular file.
std::optional<std::string> open_regular(const std::string& path, FileUse use, Fd& f) {
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (f.fd < 0) return "cannot open " + path + ": " + std::strerror(errno);
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) return "cannot stat " + path + ": " + std::strerror(errno);
  if (!S_ISREG(st.st_mode)) return path + " is " + kind_of(st.st_mode) + "; expected a regular file";
  if (use == FileUse::private_) {
    // The owner note (a passwd lookup) only when there is something to say:
    // most files are fine, and this runs for every private file at each load.
    const bool credential = in_credentials_directory(path);
    if (private_mode_problem(path, st.st_mode, credential, {}))
      return private_mode_problem(path, st.st_mode, credential, owner_note(st.st_uid));
  }
  return std::nullopt;
}

}  // namespace

std::string resolve_path(const std::string& base_dir, const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_relative()) p = std::filesystem::path(base_dir) / p;
  return p.lexically_normal().string();
}

bool in_credentials_directory(const std::string& path) {
  const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
  if (!dir || !*dir) return false;
  std::string prefix = std::filesystem::path(dir).lexically_normal().string();
  if (prefix.empty()) return false;
  if (prefix.back() != '/') prefix += '/';
  return path.compare(0, prefix.size(), prefix) == 0;
}

std::optional<std::string> private_mode_problem(const std::string& path, mode_t mode, bool systemd_credential,
                                                const std::string& owner_note) {
  mode_t open_to = mode & 077;
  if (systemd_credential) open_to &= ~mode_t(040);
  if (open_to == 0) return std::nullopt;
  const char* who = (mode & 004) ? "readable by others"
                    : (mode & 040) ? "readable by its group"
                                   : "open to group or others";
  char octal[8];
  std::snprintf(octal, sizeof octal, "%04o", unsigned(mode & 07777));
  // As OpenSSH does for private keys: refuse, and say the command that fixes it.
  std::string why = "`" + path + "` is " + who + " (mode " + octal + "); run: chmod 600 " + path;
  if (!owner_note.empty()) why += "; " + owner_note;
  return why;
}

std::optional<std::string> check_readable(const std::string& path, FileUse use) {
  Fd f;
  return open_regular(path, use, f);
}

std::optional<std::string> read_text_file(const std::string& path, std::string& out, std::size_t max_bytes) {
  Fd f;
  if (auto err = open_regular(path, FileUse::plain, f)) return err;
  std::string data;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return "cannot read " + path + ": " + std::strerror(errno);
    if (n == 0) break;
    data.append(buf, std::size_t(n));
    if (data.size() > max_bytes) return path + " is larger than " + std::to_string(max_bytes / 1024) + " KiB";
  }
  out = std::move(data);
  return std::nullopt;
}

std::optional<std::string> read_secret_file(const std::string& path, Secret& out) {
  Fd f;
  if (auto err = open_regular(path, FileUse::private_, f)) return err;
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
      OPENSSL_cleanse(buf, sizeof buf);
      Secret wipe(std::move(data));  // its destructor clears what was read
      return "cannot read " + path + ": " + std::strerror(e);
    }
    if (n == 0) break;
    data.append(buf, std::size_t(n));
    if (data.size() > 64 * 1024) {
      OPENSSL_cleanse(buf, sizeof buf);
      Secret wipe(std::move(data));
      return path + " is larger than 64 KiB; it should hold only the client secret";
    }
  }
  OPENSSL_cleanse(buf, sizeof buf);
  if (!data.empty() && data.back() == '\n') {
    data.pop_back();
    if (!data.empty() && data.back() == '\r') data.pop_back();
  }
  if (data.empty()) return path + " is empty; put the client secret's value in it";
  out = Secret(std::move(data));
  return std::nullopt;
}

}  // namespace xr::conf
