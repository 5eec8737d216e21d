// Reaching an Office 365 endpoint: resolve, connect and (for implicit TLS)
// handshake with full certificate verification and SNI, all within one
// deadline. Shared by the SMTP, IMAP and POP3 upstreams.
#pragma once

#include "conf/config.hpp"
#include "relay/connection.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace xr::relay {

struct ConnectError {
  bool tls = false;    // the TCP connection worked, the TLS handshake did not
  std::string detail;  // "connect to host:port timed out", "TLS handshake with ...: ..."
};

// Connects `conn`'s socket to the endpoint; with `implicit_tls`, also runs
// the client handshake. nullopt on success.
net::awaitable<std::optional<ConnectError>> connect_upstream(Connection& conn, const conf::Endpoint& endpoint,
                                                             std::chrono::seconds timeout, bool implicit_tls);

}  // namespace xr::relay
