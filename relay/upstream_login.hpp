// Drives an upstream IMAP/POP3 login client (protocols/login_client) over a
// connected Office 365 connection until it has logged in or failed. Shared
// by the sessions and by `doctor`.
#pragma once

#include "protocols/login_client.hpp"
#include "relay/connection.hpp"

#include <chrono>
#include <string>

namespace xr::relay {

// Returns the client's final event (logged_in or failed). `io_problem` says
// what went wrong on the wire ("read: timeout") when that ended the login,
// "-" otherwise. Every write that may hold the token is wiped after use.
net::awaitable<ClientEvent> drive_login(Connection& conn, LoginClient& client, std::chrono::seconds reply_timeout,
                                        std::string& io_problem);

}  // namespace xr::relay
