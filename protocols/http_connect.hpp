// HTTP CONNECT (RFC 9110 9.3.6, RFC 9112): opening a tunnel through the
// tenant's outbound HTTP proxy to an Office 365 endpoint. Sans-IO: the shell
// (relay/net/proxy_tunnel.cpp) sends the request built here and feeds the
// proxy's answer to ConnectReplyParser, which says when the answer's head is
// complete and how many of the fed bytes belong to it. Whatever follows the
// head is the tunnel's: a fast server's greeting may arrive in the same read,
// and it must reach the session, not be swallowed here.
//
// TLS to Office 365 runs inside the tunnel, end to end; the proxy sees only
// host and port.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace xr::protocols {

// Bounds on the proxy's answer: a hostile or broken proxy cannot make the
// relay buffer without end. Real proxies send a status line and a handful of
// short headers (tinyproxy: 1 line; squid: 2–4).
inline constexpr std::size_t kMaxConnectReplyLine = 4096;    // one line with its line end
inline constexpr std::size_t kMaxConnectReplyHeaders = 64;   // header fields, interim answers included
inline constexpr std::size_t kMaxConnectReplyHead = 16384;   // the whole head, interim answers included
inline constexpr std::size_t kMaxConnectReasonShown = 100;   // of the reason phrase, for logs

// "host:port" as CONNECT's request target and Host header: an IPv6 literal
// gets its brackets ("[2001:db8::1]:587"); one already bracketed keeps them.
std::string connect_authority(std::string_view host, std::uint16_t port);

// The whole request head. `credentials` is "user:password" (Basic auth,
// RFC 7617) or empty for none. nullopt when `host` holds anything a host
// name or IP literal cannot (spaces, line breaks, '/', '@'...), so nothing
// from a config value can smuggle a second line into the request.
// The result holds the credentials (base64 is not encryption): the caller
// wipes it after sending (protocols/secret.hpp).
std::optional<std::string> http_connect_request(std::string_view host, std::uint16_t port,
                                                std::string_view credentials);

enum class ConnectReply {
  need_more,    // the head is not complete yet
  established,  // 2xx: the tunnel is open after the head
  refused,      // the proxy answered with a final non-2xx status (403, 407, 502...)
  malformed,    // not an HTTP/1.x answer, or over a bound
};
const char* to_string(ConnectReply);

class ConnectReplyParser {
 public:
  // Feeds the next bytes; returns how many of them belong to the answer's
  // head. While need_more that is all of them; on the feed that completes
  // (or fails) it is up to and including the byte that decided, and the
  // rest of that feed is rest(). Once decided, feed() returns 0 and looks
  // at nothing.
  //
  // Decided at: established, the blank line after a 2xx status line's
  // headers; refused, the end of a final non-2xx status line (what follows
  // is the proxy's error page, which the relay does not read); malformed,
  // the first byte that breaks a rule.
  std::size_t feed(std::string_view bytes);

  ConnectReply status() const { return status_; }
  // When established or refused: the status code and the reason phrase,
  // sanitised (printable ASCII only, at most kMaxConnectReasonShown bytes).
  int code() const { return code_; }
  const std::string& reason() const { return reason_; }
  std::string status_text() const;  // "403 Forbidden", "407 Proxy Authentication Required"
  // When malformed: why, for the log (quoting at most a few sanitised bytes).
  const std::string& error() const { return error_; }
  // When established: the tunnel's bytes that came in the feed that
  // completed the head (empty for implicit TLS: the client speaks first).
  const std::string& rest() const { return rest_; }

 private:
  void fail(std::string why);
  void on_line(std::string_view line);  // a complete line, without its line end
  void on_status_line(std::string_view line);
  void on_header_line(std::string_view line);

  enum class Part { status_line, headers };
  ConnectReply status_ = ConnectReply::need_more;
  Part part_ = Part::status_line;
  bool interim_ = false;       // reading the headers of a 1xx answer
  std::string line_;           // the current line so far (never over its bound)
  std::size_t head_bytes_ = 0;
  std::size_t headers_ = 0;
  int code_ = 0;
  std::string reason_;
  std::string error_;
  std::string rest_;
};

}  // namespace xr::protocols
