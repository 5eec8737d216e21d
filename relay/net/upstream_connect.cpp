#include "relay/net/upstream_connect.hpp"

#include "relay/net/proxy_tunnel.hpp"

namespace xr::relay {

using namespace net::experimental::awaitable_operators;

const char* to_string(Hop h) { return h == Hop::proxy ? "proxy" : "upstream"; }

namespace {

// Direct: the endpoint's name is resolved here. (Through a proxy it is not:
// the proxy resolves it, and the relay's own DNS may not know it.)
net::awaitable<std::optional<ConnectError>> connect_direct(tcp::socket& socket, const conf::Endpoint& endpoint,
                                                           std::chrono::steady_clock::time_point deadline) {
  auto ex = co_await net::this_coro::executor;
  const std::string peer = endpoint.host + ":" + std::to_string(endpoint.port);
  net::steady_timer timer(ex, deadline);
  std::vector<tcp::endpoint> endpoints;
  // An address needs no resolver: Asio's runs getaddrinfo on a thread of its
  // own, two thread hand-overs per connection for nothing to look up.
  boost::system::error_code not_numeric;
  const auto address = net::ip::make_address(endpoint.host, not_numeric);
  if (!not_numeric) {
    endpoints.emplace_back(address, endpoint.port);
  } else {
    tcp::resolver resolver(ex);
    auto resolved = co_await (resolver.async_resolve(endpoint.host, std::to_string(endpoint.port),
                                                     net::as_tuple(net::use_awaitable)) ||
                              timer.async_wait(net::as_tuple(net::use_awaitable)));
    if (resolved.index() == 1)
      co_return ConnectError{Hop::upstream, false, 0, "resolving " + endpoint.host + " timed out"};
    auto [rec, results] = std::get<0>(resolved);
    if (rec) co_return ConnectError{Hop::upstream, false, 0, "cannot resolve " + endpoint.host + ": " + rec.message()};
    for (const auto& r : results) endpoints.push_back(r.endpoint());
  }

  auto connected = co_await (net::async_connect(socket, endpoints, net::as_tuple(net::use_awaitable)) ||
                             timer.async_wait(net::as_tuple(net::use_awaitable)));
  if (connected.index() == 1 || std::get<0>(std::get<0>(connected))) {
    boost::system::error_code ignored;
    socket.close(ignored);
    co_return ConnectError{Hop::upstream, false, 0,
                           connected.index() == 1
                               ? "connect to " + peer + " timed out"
                               : "connect to " + peer + ": " + std::get<0>(std::get<0>(connected)).message()};
  }
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  co_return std::nullopt;
}

}  // namespace

net::awaitable<std::optional<ConnectError>> connect_upstream(Connection& conn, const conf::Endpoint& endpoint,
                                                             const conf::EgressProxy* proxy,
                                                             std::chrono::seconds timeout, bool implicit_tls) {
  const std::string peer = endpoint.host + ":" + std::to_string(endpoint.port);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  if (proxy) {
    auto tunnel = co_await open_proxy_tunnel(conn.socket(), *proxy, endpoint.host, endpoint.port, deadline);
    if (tunnel) {
      conn.close_now();
      co_return ConnectError{Hop::proxy, false, tunnel->status, std::move(tunnel->detail)};
    }
  } else {
    auto direct = co_await connect_direct(conn.socket(), endpoint, deadline);
    if (direct) {
      conn.close_now();
      co_return direct;
    }
  }
  if (implicit_tls) {
    const auto left = deadline - std::chrono::steady_clock::now();
    const auto bounded = std::max(left, std::chrono::steady_clock::duration(std::chrono::seconds(1)));
    auto hs = co_await conn.handshake_client(endpoint.host, bounded, endpoint.port);
    if (!hs.ok()) {
      conn.close_now();
      co_return ConnectError{Hop::upstream, true, 0, "TLS handshake with " + peer + ": " + hs.describe()};
    }
  }
  co_return std::nullopt;
}

}  // namespace xr::relay
