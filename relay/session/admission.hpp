// Before a session starts: on a `proxy_protocol` listener, only peers in
// `proxy_from` may connect, and the PROXY header must arrive within
// limits.handshake_timeout; it names the client. Other listeners never
// parse PROXY headers.
#pragma once

#include "conf/config.hpp"
#include "relay/asio.hpp"
#include "relay/log.hpp"
#include "relay/session/client_origin.hpp"

#include <optional>

namespace xr::relay {

// The session's client, or nothing when the connection must be closed at
// once (the reason is logged: proxy_refused, proxy_header_failed).
net::awaitable<std::optional<ClientOrigin>> resolve_client(tcp::socket& socket, const conf::Listener& listener,
                                                           const conf::Limits& limits, Logger& log);

// What a client over limits.max_sessions_per_ip hears, in the clear (the
// protocol's temporary refusal, so it retries later); empty on an implicit-TLS
// listener, whose client could not read it.
std::string per_ip_refusal(const conf::Listener& listener);

}  // namespace xr::relay
