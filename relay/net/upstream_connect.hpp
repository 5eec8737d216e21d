// Reaching an Office 365 endpoint: resolve, connect (directly, or through the
// tenant's HTTP proxy with CONNECT: relay/net/proxy_tunnel) and, for implicit
// TLS, handshake with full certificate verification and SNI, all within one
// deadline. Shared by the SMTP, IMAP and POP3 upstreams and doctor.
#pragma once

#include "conf/config.hpp"
#include "relay/connection.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace xr::relay {

// Which leg of the way failed: the relay's connection to its outbound proxy
// (or the proxy's CONNECT), or the Office 365 endpoint itself (TCP when
// direct, TLS either way).
enum class Hop { proxy, upstream };
const char* to_string(Hop);  // "proxy", "upstream"

struct ConnectError {
  Hop hop = Hop::upstream;
  bool tls = false;      // the TCP connection (or tunnel) worked, the TLS handshake did not
  int proxy_status = 0;  // hop proxy: the HTTP status of its refusal (403, 407...), else 0
  // "connect to host:port timed out", "TLS handshake with ...: ...",
  // "connect to proxy http://p:3128: Connection refused",
  // "proxy http://p:3128 refused CONNECT to host:port: 403 Forbidden"
  std::string detail;
};

// Connects `conn`'s socket to the endpoint, through `proxy` when it is not
// null (conf::Tenant::proxy_for(endpoint.host)); with `implicit_tls`, also
// runs the client handshake (through the tunnel: the proxy sees only
// ciphertext). nullopt on success.
net::awaitable<std::optional<ConnectError>> connect_upstream(Connection& conn, const conf::Endpoint& endpoint,
                                                             const conf::EgressProxy* proxy,
                                                             std::chrono::seconds timeout, bool implicit_tls);

}  // namespace xr::relay
