// Groups of 3 raw bytes become 4 base64 bytes. A group straddling two source
// reads is completed by moving its 1-2 bytes to the buffer's front before the
// next read; a group straddling two caller buffers waits in `pending_`.
#include "graph/base64_stream.hpp"

#include <algorithm>
#include <cstring>

namespace xr::graph {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

std::uint64_t base64_size(std::uint64_t raw) { return (raw + 2) / 3 * 4; }

Base64Stream::Base64Stream(MessageSource& source, std::size_t raw_buffer)
    : source_(source), total_(source.size()), remaining_(total_), raw_(std::max<std::size_t>(raw_buffer, 3)) {}

void Base64Stream::encode_group(const unsigned char* in, std::size_t len, char* out) const {
  const unsigned v = (unsigned(in[0]) << 16) | (len > 1 ? unsigned(in[1]) << 8 : 0u) | (len > 2 ? unsigned(in[2]) : 0u);
  out[0] = kAlphabet[(v >> 18) & 63];
  out[1] = kAlphabet[(v >> 12) & 63];
  out[2] = len > 1 ? kAlphabet[(v >> 6) & 63] : '=';
  out[3] = len > 2 ? kAlphabet[v & 63] : '=';
}

bool Base64Stream::refill() {
  if (remaining_ == 0 || short_) return false;
  // Keep an incomplete group's bytes: they join the next read's first ones.
  const std::size_t keep = raw_len_ - raw_pos_;
  std::memmove(raw_.data(), raw_.data() + raw_pos_, keep);
  raw_pos_ = 0;
  raw_len_ = keep;
  const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(raw_.size() - keep, remaining_));
  const std::size_t got = source_.read(reinterpret_cast<char*>(raw_.data() + keep), want);
  if (got == 0) {
    short_ = true;
    return false;
  }
  raw_len_ += got;
  remaining_ -= got;
  return true;
}

std::size_t Base64Stream::read(char* out, std::size_t n) {
  std::size_t w = 0;
  while (w < n) {
    if (pending_pos_ < pending_len_) {
      const std::size_t k = std::min(n - w, pending_len_ - pending_pos_);
      std::memcpy(out + w, pending_ + pending_pos_, k);
      pending_pos_ += k;
      w += k;
      continue;
    }
    const std::size_t avail = raw_len_ - raw_pos_;
    if (avail < 3 && remaining_ > 0) {
      if (!refill()) break;  // the source ended early: stop, source_short() says why
      continue;
    }
    if (avail == 0) break;  // every byte encoded
    // A whole group, or the final 1-2 bytes (padded).
    const unsigned char* in = raw_.data() + raw_pos_;
    if (n - w < 4) {
      // Too little room: encode the group aside and hand out its start.
      const std::size_t len = std::min<std::size_t>(avail, 3);
      encode_group(in, len, pending_);
      raw_pos_ += len;
      pending_pos_ = 0;
      pending_len_ = 4;
      continue;
    }
    if (avail < 3) {
      encode_group(in, avail, out + w);
      raw_pos_ += avail;
      w += 4;
      continue;
    }
    // Whole groups straight into the caller's buffer.
    std::size_t groups = std::min(avail / 3, (n - w) / 4);
    for (std::size_t i = 0; i < groups; ++i) encode_group(in + 3 * i, 3, out + w + 4 * i);
    raw_pos_ += 3 * groups;
    w += 4 * groups;
  }
  return w;
}

}  // namespace xr::graph
