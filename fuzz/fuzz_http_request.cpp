// The admin endpoint's request head parser (protocols/http_request), fed as
// the admin server feeds it: the bytes received so far, after every read.
// Byte 0 seeds the read sizes.
// Properties: never crashes; a head accepted on a prefix stays the same
// head however much more arrives; an accepted head has an upper-case
// method and an absolute path without query, space or line break; the
// response's Content-Length is the body's length.
#include "fuzz_common.hpp"
#include "protocols/http_request.hpp"

using namespace xr;
using protocols::HttpParse;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  constexpr std::size_t kMaxHead = 512;

  protocols::HttpRequestHead whole_head;
  const HttpParse whole = protocols::parse_http_request_head(bytes, whole_head, kMaxHead);
  if (whole == HttpParse::ok) {
    XR_FUZZ_CHECK(!whole_head.method.empty());
    for (char c : whole_head.method) XR_FUZZ_CHECK(c >= 'A' && c <= 'Z');
    XR_FUZZ_CHECK(whole_head.path.starts_with("/"));
    XR_FUZZ_CHECK(whole_head.path.find_first_of("? \r\n") == std::string::npos);
  }

  std::size_t received = 0;
  for (auto piece : fuzz::split(bytes, data[0] | 1)) {
    received += piece.size();
    protocols::HttpRequestHead head;
    const HttpParse r = protocols::parse_http_request_head(bytes.substr(0, received), head, kMaxHead);
    if (r == HttpParse::incomplete) continue;
    if (r == HttpParse::too_large) break;  // the server answers 431 and stops reading
    XR_FUZZ_CHECK(r == whole);
    if (r == HttpParse::ok) {
      XR_FUZZ_CHECK(head.method == whole_head.method);
      XR_FUZZ_CHECK(head.path == whole_head.path);
    }
    break;
  }

  const std::string response = protocols::http_response(200 + data[0], "text/plain", bytes, data[0] & 1);
  const std::string length = "Content-Length: " + std::to_string(bytes.size()) + "\r\n";
  XR_FUZZ_CHECK(response.find(length) != std::string::npos);
  XR_FUZZ_CHECK(response.find("\r\n\r\n") != std::string::npos);
  return 0;
}
