// Reads a PROXY protocol header (protocols/proxy_header) off a freshly
// accepted socket, before anything else happens on it.
//
// It peeks and then consumes exactly the header's bytes, so whatever the
// client sent after it (a TLS ClientHello in the same segment) stays in the
// kernel's buffer for the session, which may hand the socket to OpenSSL
// (SSL_set_fd) and so could not be given bytes already read.
#pragma once

#include "protocols/proxy_header.hpp"
#include "relay/asio.hpp"

#include <chrono>
#include <string>

namespace xr::relay {

struct ProxyRead {
  bool ok = false;
  proxy::Source source;  // when ok
  std::string error;     // when not: "timeout", "eof", or the parser's reason
};

// The whole header must arrive within `timeout`.
net::awaitable<ProxyRead> read_proxy_header(tcp::socket& socket, std::chrono::steady_clock::duration timeout);

}  // namespace xr::relay
