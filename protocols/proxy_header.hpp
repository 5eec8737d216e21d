// HAProxy's PROXY protocol, v1 (text) and v2 (binary), as a load balancer
// sends it in front of the client's first byte: which address the client
// really connected from. Sans-IO: the shell feeds whatever it read; the
// parser says when the header is complete and hands back the bytes after it
// (the client's first bytes may arrive in the same segment).
//
// Spec: https://www.haproxy.org/download/2.8/doc/proxy-protocol.txt
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace xr::proxy {

// A v1 line is at most 107 bytes with its CRLF (spec, 2.1).
inline constexpr std::size_t kMaxV1Length = 107;
// v2: the 16-byte fixed part, then up to this many bytes of addresses and
// TLVs. The spec allows 64 KiB; HAProxy's own TLVs (SSL, unique id, ALPN)
// fit well within this, and a bound keeps a hostile peer from parking data.
inline constexpr std::size_t kMaxV2Payload = 2048;

enum class Status { need_more, done, error };

struct Source {
  // True for v2 LOCAL, v2 UNSPEC and v1 UNKNOWN: the connection is the
  // proxy's own (a health check) or its origin is not known; the socket's
  // peer is used.
  bool local = true;
  std::string address;  // "192.0.2.1", "2001:db8::1" (canonical text)
  std::uint16_t port = 0;
  bool v6 = false;
  int version = 0;  // 1 or 2
};

class HeaderParser {
 public:
  // Feeds the next bytes; returns the status after them. Once done or
  // failed, further bytes are not looked at (feed returns the same status
  // and rest() does not grow).
  Status feed(std::string_view bytes);

  Status status() const { return status_; }
  const Source& source() const { return source_; }  // when done
  const std::string& error() const { return error_; }  // when failed: why, for the log
  // When done: the bytes after the header, from the feed that completed it.
  const std::string& rest() const { return rest_; }

 private:
  Status fail(std::string why);
  Status step();
  Status step_v1();
  Status step_v2();
  Status parse_v1_line(std::string_view line);

  Status status_ = Status::need_more;
  std::string buf_;  // the header so far (never more than its bound)
  std::string rest_;
  std::string error_;
  Source source_;
};

}  // namespace xr::proxy
