// SMTP dot stuffing (protocols/dot_stuffing): the input is used both as a
// message to encode and as wire bytes to decode. Byte 0 seeds the split.
// Properties:
// - decoding wire bytes gives the same message, the same stop position and
//   the same bare-LF count however the bytes are split;
// - re-encoding what was decoded and decoding again gives the same message
//   (the next hop sees exactly the boundaries the relay saw: no smuggling);
// - round trip: unstuff(stuff(x)) == x with bare LFs made CRLF and a final
//   CRLF added when missing, for messages without a bare CR.
#include "fuzz_common.hpp"
#include "protocols/dot_stuffing.hpp"

using namespace xr;

namespace {

struct Decoded {
  std::string message;
  std::size_t used = 0;
  std::size_t bare_lf = 0;
  bool done = false;
};

Decoded decode(const std::vector<std::string_view>& pieces) {
  smtp::DotDecoder d;
  Decoded r;
  for (auto p : pieces) {
    const std::size_t used = d.decode(p, r.message);
    XR_FUZZ_CHECK(used <= p.size());
    r.used += used;
    if (d.done()) {
      XR_FUZZ_CHECK(used > 0 || r.used > 0);
      break;
    }
    XR_FUZZ_CHECK(used == p.size());
  }
  r.done = d.done();
  r.bare_lf = d.bare_lf_count();
  return r;
}

std::string encode(const std::vector<std::string_view>& pieces) {
  smtp::DotEncoder e;
  std::string wire;
  for (auto p : pieces) e.encode(p, wire);
  e.finish(wire);
  return wire;
}

bool has_bare_cr(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i)
    if (s[i] == '\r' && (i + 1 == s.size() || s[i + 1] != '\n')) return true;
  return false;
}

std::string normalise(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) out += '\r';
    out += s[i];
  }
  if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t seed = data[0];
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);

  // The input as wire bytes.
  const Decoded whole = decode({bytes});
  const Decoded split = decode(fuzz::split(bytes, seed | 1));
  XR_FUZZ_CHECK(whole.message == split.message);
  XR_FUZZ_CHECK(whole.used == split.used);
  XR_FUZZ_CHECK(whole.done == split.done);
  XR_FUZZ_CHECK(whole.bare_lf == split.bare_lf);
  if (whole.done) {
    // Re-encoded, the message ends at the same place and reads the same.
    const std::string wire = encode(fuzz::split(whole.message, seed));
    const Decoded again = decode({wire});
    XR_FUZZ_CHECK(again.done);
    XR_FUZZ_CHECK(again.used == wire.size());
    XR_FUZZ_CHECK(again.message == whole.message || (whole.message.empty() && again.message.empty()));
  }

  // The input as a message.
  const std::string wire = encode(fuzz::split(bytes, seed));
  const Decoded back = decode(fuzz::split(wire, seed ^ 0x5a));
  XR_FUZZ_CHECK(back.done);
  XR_FUZZ_CHECK(back.used == wire.size());
  if (!has_bare_cr(bytes)) XR_FUZZ_CHECK(back.message == normalise(bytes));
  return 0;
}
