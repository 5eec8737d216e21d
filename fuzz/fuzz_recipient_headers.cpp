// The Bcc rule's header reader (protocols/recipient_headers): arbitrary
// message bytes, split arbitrarily (byte 0: split seed; its bit 1 a 64-byte
// header cap).
// Properties: never crashes; the addresses do not depend on the split; each
// is one line with an "@"; no address found is reported missing; and the
// Bcc: field built from them is folded (lines of at most 78 bytes, but for
// one longer address) and reads back as the same addresses (what Graph will
// see is what the relay meant to add).
#include "fuzz_common.hpp"
#include "protocols/recipient_headers.hpp"

using namespace xr;

namespace {

std::uint64_t total_size(const std::vector<std::string_view>& pieces) {
  std::uint64_t n = 0;
  for (auto p : pieces) n += p.size();
  return n;
}

std::vector<std::string> read(const std::vector<std::string_view>& pieces, std::size_t cap) {
  smtp::RecipientHeaders r(cap);
  for (auto p : pieces) r.feed(p);
  r.finish();
  XR_FUZZ_CHECK(r.done());
  // Only the first To/Cc name recipients; a Bcc address always counts.
  XR_FUZZ_CHECK(r.missing(r.bcc_addresses()).empty());
  // Bcc field ranges: in order, apart, inside what was read.
  std::uint64_t end = 0;
  for (const auto& f : r.bcc_fields()) {
    XR_FUZZ_CHECK(f.offset >= end && f.length >= 4);
    end = f.offset + f.length;
  }
  XR_FUZZ_CHECK(end <= std::min<std::uint64_t>(cap, total_size(pieces)));
  return r.addresses();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string message(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::size_t cap = (data[0] & 2) ? 64 : 1024 * 1024;  // bit 1: a small header cap
  const auto whole = read({message}, cap);
  XR_FUZZ_CHECK(read(fuzz::split(message, data[0] | 1), cap) == whole);
  for (const auto& a : whole) {
    XR_FUZZ_CHECK(a.find('@') != std::string::npos);
    XR_FUZZ_CHECK(a.find_first_of("\r\n") == std::string::npos);
  }
  const std::string bcc = smtp::bcc_field(whole);
  // Folded at 78 unless one address alone is longer (envelope addresses,
  // what the relay passes, are at most 256 bytes; a header's can be any).
  std::size_t longest = 0;
  for (const auto& a : whole) longest = std::max(longest, a.size());
  for (std::size_t start = 0; start < bcc.size();) {
    const std::size_t end = bcc.find("\r\n", start);
    XR_FUZZ_CHECK(end != std::string::npos);
    XR_FUZZ_CHECK(end - start <= std::max<std::size_t>(78, longest + 6));
    start = end + 2;
  }
  if (!whole.empty()) XR_FUZZ_CHECK(read({bcc + "\r\n"}, 1024 * 1024) == whole);
  return 0;
}
