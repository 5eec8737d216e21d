// An HTTP CONNECT tunnel through the tenant's outbound proxy
// (conf::EgressProxy) to an upstream host:port: connect to the proxy, send
// the request (protocols/http_connect), read the answer. After it the socket
// carries the upstream's bytes, and TLS to Office 365 runs through it end to
// end, with the same certificate checks as a direct connection.
//
// The answer is peeked and exactly its head is consumed (as
// relay/net/proxy_reader.cpp does for PROXY headers): a greeting the server
// sent right behind the proxy's 200 stays in the kernel's buffer, where the
// session's Connection (and OpenSSL, which reads the socket itself) find it.
#pragma once

#include "conf/egress_proxy.hpp"
#include "relay/asio.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace xr::relay {

struct TunnelFailure {
  // The proxy's HTTP status when it answered with a refusal (403, 407...),
  // 0 when it could not be reached or did not answer properly.
  int status = 0;
  // "connect to proxy http://127.0.0.1:3128: Connection refused",
  // "proxy http://127.0.0.1:3128 refused CONNECT to smtp.office365.com:587: 403 Forbidden"
  std::string detail;
};

// Connects `socket` to the proxy and opens the tunnel to host:port, all
// before `deadline`. nullopt on success; on failure the socket is closed.
net::awaitable<std::optional<TunnelFailure>> open_proxy_tunnel(tcp::socket& socket, const conf::EgressProxy& proxy,
                                                               const std::string& host, std::uint16_t port,
                                                               std::chrono::steady_clock::time_point deadline);

}  // namespace xr::relay
