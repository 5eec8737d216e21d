// One device's SMTP session: drives protocols/smtp_server with bytes from the
// socket and executes its events (TLS, login checks, upstream commands).
#pragma once

#include "relay/asio.hpp"
#include "relay/runtime.hpp"
#include "relay/session/client_origin.hpp"

#include <memory>

namespace xr::relay {

class SessionRegistry;

// Runs the session to its end; never throws for I/O or protocol problems.
net::awaitable<void> run_smtp_session(tcp::socket socket, std::shared_ptr<const ConfigSnapshot> snap,
                                      std::size_t listener_index, Services& services,
                                      SessionRegistry& registry, ClientOrigin origin);

}  // namespace xr::relay
