#include "relay/session/admission.hpp"

#include "relay/net/proxy_reader.hpp"
#include "relay/session_support.hpp"

#include <fmt/format.h>

namespace xr::relay {

namespace {

bool proxy_allowed(const conf::Listener& l, const conf::IpAddress& peer) {
  for (const auto& c : l.proxy_from)
    if (c.contains(peer)) return true;
  return false;
}

}  // namespace

std::string per_ip_refusal(const conf::Listener& l) {
  if (l.tls == conf::TlsMode::implicit) return {};
  switch (l.protocol) {
    case conf::Protocol::smtp: return "421 4.7.0 Too many connections from your address, try again later\r\n";
    case conf::Protocol::imap: return "* BYE [UNAVAILABLE] Too many connections from your address, try again later\r\n";
    case conf::Protocol::pop3: return "-ERR [SYS/TEMP] Too many connections from your address, try again later\r\n";
  }
  return {};
}

net::awaitable<std::optional<ClientOrigin>> resolve_client(tcp::socket& socket, const conf::Listener& listener,
                                                           const conf::Limits& limits, Logger& log) {
  auto peer = ClientOrigin::of(socket);
  if (!listener.proxy_protocol) co_return peer;
  if (!proxy_allowed(listener, peer.ip)) {
    // Anyone else could claim any address: not a word is read from them.
    log.warn("", "proxy_refused", {{"peer", peer.client}, {"listener", listener.name()},
                                   {"fix", "add the load balancer's address to proxy_from, or connect through it"}});
    co_return std::nullopt;
  }
  const auto got = co_await read_proxy_header(socket, limits.handshake_timeout);
  if (!got.ok) {
    // A load balancer's bare TCP health check closes without a header.
    log.log(got.error == "eof" ? conf::LogLevel::debug : conf::LogLevel::warn, "", "proxy_header_failed",
            {{"peer", peer.client}, {"listener", listener.name()}, {"error", got.error}});
    co_return std::nullopt;
  }
  if (got.source.local) co_return peer;  // LOCAL / UNKNOWN: the proxy's own connection
  auto ip = conf::IpAddress::parse(got.source.address);
  if (!ip) co_return std::nullopt;  // the parser only gives valid addresses
  ClientOrigin origin;
  // As the socket's peer would be written (an IPv4-mapped address as IPv4).
  origin.client = ip->is_v4() ? fmt::format("{}:{}", ip->to_string(), got.source.port)
                              : fmt::format("[{}]:{}", ip->to_string(), got.source.port);
  origin.ip = *ip;
  origin.via = peer.client;
  co_return origin;
}

}  // namespace xr::relay
