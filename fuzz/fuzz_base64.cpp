// base64 and base64url (protocols/base64): arbitrary text to decode and
// arbitrary bytes to encode.
// Properties: never crashes; decode(encode(x)) == x for both alphabets;
// whatever decodes re-encodes to something that decodes to the same bytes,
// at 3 bytes per 4 characters.
#include "fuzz_common.hpp"
#include "protocols/base64.hpp"

using namespace xr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  const auto std_round = base64_decode(base64_encode(in));
  XR_FUZZ_CHECK(std_round && *std_round == in);
  const auto url_round = base64url_decode(base64url_encode(in));
  XR_FUZZ_CHECK(url_round && *url_round == in);
  XR_FUZZ_CHECK(base64url_encode(in).find_first_of("+/=") == std::string::npos);

  if (auto d = base64_decode(in)) {
    XR_FUZZ_CHECK(in.size() % 4 == 0);
    XR_FUZZ_CHECK(d->size() <= in.size() / 4 * 3);
    const auto again = base64_decode(base64_encode(*d));
    XR_FUZZ_CHECK(again && *again == *d);
  }
  if (auto d = base64url_decode(in)) {
    XR_FUZZ_CHECK(d->size() <= (in.size() + 3) / 4 * 3);
    const auto again = base64url_decode(base64url_encode(*d));
    XR_FUZZ_CHECK(again && *again == *d);
  }
  return 0;
}
