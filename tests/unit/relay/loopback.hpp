// Connected TCP pairs on 127.0.0.1 for the relay's Asio tests.
#pragma once

#include "relay/asio.hpp"

#include <utility>

namespace xr::relay::test {

inline std::pair<tcp::socket, tcp::socket> socket_pair(net::io_context& io) {
  tcp::acceptor acc(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  tcp::socket a(io), b(io);
  a.connect(acc.local_endpoint());
  acc.accept(b);
  return {std::move(a), std::move(b)};
}

// Runs `co` to completion on `io`; rethrows its exception.
template <typename Awaitable>
void run(net::io_context& io, Awaitable co) {
  std::exception_ptr failure;
  net::co_spawn(io, std::move(co), [&](std::exception_ptr e) { failure = e; });
  io.run();
  io.restart();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace xr::relay::test
