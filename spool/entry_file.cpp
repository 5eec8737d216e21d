#include "spool/entry_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <fmt/format.h>

#include <cerrno>
#include <charconv>

namespace xr::spool {
namespace {

bool parse_digits(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::uint64_t file_size_of(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) posix::fail("cannot stat", path, errno);
  return static_cast<std::uint64_t>(st.st_size);
}

}  // namespace

std::string header_line(std::uint64_t envelope_size, std::uint64_t message_size) {
  return fmt::format("XRSPOOL1 {:010} {:020}\n", envelope_size, message_size);
}

bool read_queue_file(int fd, const std::string& path, std::string_view id, Entry& out,
                     std::uint64_t& data_offset, std::string& error) {
  std::uint64_t size = file_size_of(fd, path);
  char head[kHeaderLineSize];
  if (posix::pread_full(fd, head, sizeof head, 0, path) != sizeof head) {
    error = fmt::format("truncated: {} bytes, shorter than the header", size);
    return false;
  }
  std::string_view h(head, sizeof head);
  std::uint64_t env_size = 0, msg_size = 0;
  if (h.substr(0, 9) != "XRSPOOL1 " || h[19] != ' ' || h[40] != '\n' || !parse_digits(h.substr(9, 10), env_size) ||
      !parse_digits(h.substr(20, 20), msg_size)) {
    error = "bad header line (not \"XRSPOOL1 <envelope bytes> <message bytes>\")";
    return false;
  }
  if (env_size > kMaxEnvelopeSize || msg_size > size) {
    error = fmt::format("header claims {} envelope and {} message bytes in a {}-byte file", env_size, msg_size, size);
    return false;
  }
  const std::uint64_t expected = kHeaderLineSize + env_size + 1 + msg_size;
  if (size != expected) {
    error = fmt::format("size mismatch: {} bytes on disk, the header says {}", size, expected);
    return false;
  }
  std::string env(env_size + 1, '\0');
  posix::pread_full(fd, env.data(), env.size(), kHeaderLineSize, path);
  if (env.back() != '\n') {
    error = "no newline after the envelope";
    return false;
  }
  env.pop_back();
  std::string why;
  auto decoded = decode_envelope(env, &why);
  if (!decoded) {
    error = why;
    return false;
  }
  if (decoded->id != id) {
    error = "the envelope names another id (" + decoded->id + ")";
    return false;
  }
  out.envelope = std::move(*decoded);
  out.message_size = msg_size;
  out.file_size = size;
  data_offset = kHeaderLineSize + env_size + 1;
  return true;
}

bool read_state_file(const SpoolDirs& dirs, std::string_view id, Entry& out, std::string& error) {
  const std::string name(id);
  const std::string path = dirs.path("state", name);
  posix::Fd fd(posix::open_at(dirs.state.get(), name, O_RDONLY));
  if (!fd) {
    if (errno != ENOENT) posix::fail("cannot open", path, errno);
    out.state = DeliveryState{};  // never tried
    return true;
  }
  std::uint64_t size = file_size_of(fd.get(), path);
  if (size > kMaxStateSize) {
    error = fmt::format("state file of {} bytes", size);
    return false;
  }
  std::string text(size, '\0');
  text.resize(posix::pread_full(fd.get(), text.data(), text.size(), 0, path));
  std::string why;
  auto state = decode_state(text, &why);
  if (!state) {
    error = why;
    return false;
  }
  if (state->rcpts.size() > out.envelope.rcpts.size()) {
    error = fmt::format("state has {} recipients, the envelope {}", state->rcpts.size(), out.envelope.rcpts.size());
    return false;
  }
  out.state = std::move(*state);
  return true;
}

}  // namespace xr::spool
