#include "protocols/http_request.hpp"

namespace xr::protocols {
namespace {

std::string_view reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
  }
  return "Error";
}

bool is_token_char(char c) { return c >= 'A' && c <= 'Z'; }

// A request-target is visible ASCII (RFC 9112 3.2, RFC 3986): a CR, other
// control byte or 8-bit byte in it would otherwise reach routing and logs.
bool is_target_char(char c) { return c > ' ' && c < '\x7f'; }

}  // namespace

HttpParse parse_http_request_head(std::string_view received, HttpRequestHead& out, std::size_t max_head) {
  // Clients end lines with CRLF; tolerate bare LF as RFC 9112 section 2.2 allows.
  std::size_t end = received.find("\r\n\r\n");
  std::size_t lf_end = received.find("\n\n");
  if (end == std::string_view::npos && lf_end == std::string_view::npos)
    return received.size() > max_head ? HttpParse::too_large : HttpParse::incomplete;
  std::size_t line_end = received.find('\n');
  std::string_view line = received.substr(0, line_end);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  // "METHOD SP request-target SP HTTP/1.x"
  auto sp1 = line.find(' ');
  auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == 0 || sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return HttpParse::bad_request;
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  for (char c : method)
    if (!is_token_char(c)) return HttpParse::bad_request;
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return HttpParse::bad_request;
  if (target.empty() || target.front() != '/') return HttpParse::bad_request;
  for (char c : target)
    if (!is_target_char(c)) return HttpParse::bad_request;
  target = target.substr(0, target.find('?'));
  out.method = std::string(method);
  out.path = std::string(target);
  return HttpParse::ok;
}

std::string http_response(int status, std::string_view content_type, std::string_view body, bool head_only) {
  std::string r = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason(status)) + "\r\n";
  r += "Content-Type: " + std::string(content_type) + "\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  r += "Cache-Control: no-store\r\nConnection: close\r\n\r\n";
  if (!head_only) r += body;
  return r;
}

}  // namespace xr::protocols
