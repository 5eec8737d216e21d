// The admin endpoint's HTTP, sans-IO: enough of HTTP/1.x to answer
// monitoring systems (GET/HEAD of a path, one request per connection).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace xr::protocols {

struct HttpRequestHead {
  std::string method;  // "GET"
  std::string path;    // "/metrics", without the query string
};

enum class HttpParse { incomplete, ok, bad_request, too_large };

// Looks at the bytes received so far. `ok` once the head (up to the blank
// line) is complete and valid; `too_large` when no blank line came within
// `max_head` bytes.
HttpParse parse_http_request_head(std::string_view received, HttpRequestHead& out, std::size_t max_head = 8192);

// A complete response that closes the connection. HEAD gets the headers only.
std::string http_response(int status, std::string_view content_type, std::string_view body, bool head_only = false);

}  // namespace xr::protocols
