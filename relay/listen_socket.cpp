#include "relay/listen_socket.hpp"

#include <stdexcept>

namespace xr::relay {

void listen_on(tcp::acceptor& acceptor, const std::string& address, std::uint16_t port, int backlog,
               const std::string& label) {
  tcp::endpoint ep(net::ip::make_address(address), port);
  boost::system::error_code ec;
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec && ep.address().is_v6()) acceptor.set_option(net::ip::v6_only(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(backlog, ec);
  if (ec) throw std::runtime_error("cannot listen on " + label + ": " + ec.message());
}

}  // namespace xr::relay
