// One device's IMAP or POP3 session: the protocol machine up to the login,
// the local login check, the upstream XOAUTH2 login, then a byte splice.
#pragma once

#include "relay/asio.hpp"
#include "relay/runtime.hpp"
#include "relay/session/client_origin.hpp"

#include <memory>

namespace xr::relay {

class SessionRegistry;

// Run the session to its end; never throw for I/O or protocol problems.
net::awaitable<void> run_imap_session(tcp::socket socket, std::shared_ptr<const ConfigSnapshot> snap,
                                      std::size_t listener_index, Services& services, SessionRegistry& registry,
                                      ClientOrigin origin);
net::awaitable<void> run_pop3_session(tcp::socket socket, std::shared_ptr<const ConfigSnapshot> snap,
                                      std::size_t listener_index, Services& services, SessionRegistry& registry,
                                      ClientOrigin origin);

}  // namespace xr::relay
