// Who a session's client is: the socket's peer, or, behind a load balancer
// speaking the PROXY protocol, the address its header carries. This is the
// address `sources`, `no_auth`, the per-IP limits and the logs use.
#pragma once

#include "conf/cidr.hpp"
#include "relay/asio.hpp"

#include <string>

namespace xr::relay {

struct ClientOrigin {
  std::string client;  // "address:port" for the log
  conf::IpAddress ip;
  std::string via;  // the proxy's "address:port" when a PROXY header named the client

  static ClientOrigin of(const tcp::socket& socket);  // the socket's peer
};

}  // namespace xr::relay
