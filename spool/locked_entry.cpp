// Reading a locked entry's message in the caller's chunks (never whole), and
// its header block for a DSN. pread() keeps the position here, not in the
// file description, so header_block() does not disturb a read in progress.
#include "spool/store_impl.hpp"

#include <algorithm>
#include <cstring>

namespace xr::spool {

LockedEntry::LockedEntry(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LockedEntry::LockedEntry(LockedEntry&&) noexcept = default;
LockedEntry& LockedEntry::operator=(LockedEntry&&) noexcept = default;
// Closing the descriptor releases the flock.
LockedEntry::~LockedEntry() = default;

const Entry& LockedEntry::entry() const { return impl_->entry; }
Entry& LockedEntry::entry() { return impl_->entry; }

std::size_t LockedEntry::read(char* buf, std::size_t len) {
  auto& e = *impl_;
  const std::uint64_t left = e.entry.message_size - e.pos;
  const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(len, left));
  if (want == 0) return 0;
  const std::string path = e.dirs->path("queue", e.entry.envelope.id);
  std::size_t got = posix::pread_full(e.fd.get(), buf, want, static_cast<off_t>(e.data_offset + e.pos), path);
  if (got < want) throw SpoolError("queue file " + path + " is shorter than its header says (damaged)");
  e.pos += got;
  return got;
}

void LockedEntry::rewind() { impl_->pos = 0; }

std::string LockedEntry::header_block(std::size_t limit) {
  auto& e = *impl_;
  const std::string path = e.dirs->path("queue", e.entry.envelope.id);
  const std::size_t total = static_cast<std::size_t>(std::min<std::uint64_t>(limit, e.entry.message_size));
  std::string out;
  constexpr std::size_t kChunk = 16 * 1024;
  while (out.size() < total) {
    const std::size_t old = out.size();
    const std::size_t n = std::min(kChunk, total - old);
    out.resize(old + n);
    std::size_t got = posix::pread_full(e.fd.get(), out.data() + old, n, static_cast<off_t>(e.data_offset + old), path);
    out.resize(old + got);
    if (old == 0 && (out.starts_with("\r\n") || out.starts_with("\n"))) {  // no header lines at all
      out.resize(out[0] == '\n' ? 1 : 2);
      return out;
    }
    // The empty line ends the header block: CRLF CRLF, or a bare LF LF.
    const std::size_t from = old >= 3 ? old - 3 : 0;
    for (std::size_t i = from; i + 1 < out.size(); ++i) {
      if (out[i] != '\n') continue;
      if (out[i + 1] == '\n') {
        out.resize(i + 2);
        return out;
      }
      if (out[i + 1] == '\r' && i + 2 < out.size() && out[i + 2] == '\n') {
        out.resize(i + 3);
        return out;
      }
    }
    if (got < n) break;
  }
  return out;
}

}  // namespace xr::spool
