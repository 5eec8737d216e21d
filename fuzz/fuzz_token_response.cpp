// The token endpoint's answer (auth::parse_token_response): an arbitrary
// body under a status picked by byte 0.
// Properties: never throws or crashes (UBSan included: lifetimes are
// arithmetic on untrusted numbers); a token comes with a non-empty value
// and an expiry after now; an error always explains itself.
#include "auth/token_request.hpp"
#include "fuzz_common.hpp"

using namespace xr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static constexpr int kStatus[] = {200, 200, 200, 200, 400, 401, 403, 429, 500, 503, 0, 302};
  auth::HttpResponse resp;
  resp.status = kStatus[data[0] % std::size(kStatus)];
  resp.body.assign(reinterpret_cast<const char*>(data + 1), size - 1);
  if (resp.status == 0) resp.transport_error = "Connection refused";
  const auto now = auth::Clock::time_point(std::chrono::seconds(1'800'000'000));
  const auth::TokenResult r = auth::parse_token_response(resp, now);
  if (r.ok) {
    XR_FUZZ_CHECK(resp.status == 200);
    XR_FUZZ_CHECK(!r.token.value.empty());
    XR_FUZZ_CHECK(r.token.expires_at > now);
  } else {
    XR_FUZZ_CHECK(!r.error.summary.empty());
  }
  return 0;
}
