#include "relay/upstream_connect.hpp"

namespace xr::relay {

using namespace net::experimental::awaitable_operators;

net::awaitable<std::optional<ConnectError>> connect_upstream(Connection& conn, const conf::Endpoint& endpoint,
                                                             std::chrono::seconds timeout, bool implicit_tls) {
  auto ex = co_await net::this_coro::executor;
  const std::string peer = endpoint.host + ":" + std::to_string(endpoint.port);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  tcp::resolver resolver(ex);
  net::steady_timer timer(ex, deadline);
  auto resolved = co_await (resolver.async_resolve(endpoint.host, std::to_string(endpoint.port),
                                                   net::as_tuple(net::use_awaitable)) ||
                            timer.async_wait(net::as_tuple(net::use_awaitable)));
  if (resolved.index() == 1)
    co_return ConnectError{false, "resolving " + endpoint.host + " timed out"};
  auto [rec, endpoints] = std::get<0>(resolved);
  if (rec) co_return ConnectError{false, "cannot resolve " + endpoint.host + ": " + rec.message()};

  auto connected = co_await (net::async_connect(conn.socket(), endpoints, net::as_tuple(net::use_awaitable)) ||
                             timer.async_wait(net::as_tuple(net::use_awaitable)));
  if (connected.index() == 1 || std::get<0>(std::get<0>(connected))) {
    conn.close_now();
    co_return ConnectError{false, connected.index() == 1
                                      ? "connect to " + peer + " timed out"
                                      : "connect to " + peer + ": " + std::get<0>(std::get<0>(connected)).message()};
  }
  boost::system::error_code ignored;
  conn.socket().set_option(tcp::no_delay(true), ignored);
  if (implicit_tls) {
    auto left = std::chrono::duration_cast<std::chrono::steady_clock::duration>(deadline - std::chrono::steady_clock::now());
    auto hs = co_await conn.handshake_client(endpoint.host, std::max(left, std::chrono::steady_clock::duration(std::chrono::seconds(1))));
    if (!hs.ok()) {
      conn.close_now();
      co_return ConnectError{true, "TLS handshake with " + peer + ": " + hs.describe()};
    }
  }
  co_return std::nullopt;
}

}  // namespace xr::relay
