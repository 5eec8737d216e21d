// Opening a listening socket the same way for device listeners and the admin
// endpoint.
#pragma once

#include "relay/asio.hpp"

#include <cstdint>
#include <string>

namespace xr::relay {

// Opens, binds and listens `acceptor` on address:port. An IPv6 address means
// IPv6 only, so "0.0.0.0" can be listed beside "[::]". Throws
// std::runtime_error "cannot listen on <label>: <reason>".
void listen_on(tcp::acceptor& acceptor, const std::string& address, std::uint16_t port, int backlog,
               const std::string& label);

}  // namespace xr::relay
