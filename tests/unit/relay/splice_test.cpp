#include "relay/splice.hpp"

#include "loopback.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace xr::relay;
using namespace std::chrono_literals;
using xr::relay::test::run;
using xr::relay::test::socket_pair;

namespace {

constexpr auto kAwait = net::as_tuple(net::use_awaitable);

// device <-> [client_side | relay | upstream_side] <-> server
struct Stand {
  explicit Stand(net::io_context& io)
      : tls(ssl::context::tls_server),
        a(socket_pair(io)),
        b(socket_pair(io)),
        client_side(std::move(a.second), tls),
        upstream_side(std::move(b.first), tls),
        device(a.first),
        server(b.second) {}
  ssl::context tls;
  std::pair<tcp::socket, tcp::socket> a, b;
  Connection client_side, upstream_side;
  tcp::socket& device;
  tcp::socket& server;
};

net::awaitable<std::string> read_exactly(tcp::socket& s, std::size_t n) {
  std::string data(n, '\0');
  auto [ec, got] = co_await net::async_read(s, net::buffer(data), kAwait);
  data.resize(got);
  co_return data;
}

}  // namespace

TEST_CASE("bytes go both ways unchanged; the side that closes first is named") {
  net::io_context io;
  Stand st(io);
  Splice splice(st.client_side, st.upstream_side, 30s);
  SpliceResult result;
  std::string at_server, at_device;
  std::string big(300 * 1024, 'x');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);

  auto spliced = [&]() -> net::awaitable<void> { result = co_await splice.run(); };
  auto peers = [&]() -> net::awaitable<void> {
    co_await net::async_write(st.device, net::buffer(std::string("a1 NOOP\r\n")), kAwait);
    at_server = co_await read_exactly(st.server, 9);
    co_await net::async_write(st.server, net::buffer(big), kAwait);
    at_device = co_await read_exactly(st.device, big.size());
    st.server.close();  // upstream logs out
    char c;
    auto [ec, n] = co_await st.device.async_read_some(net::buffer(&c, 1), kAwait);
    CHECK(ec == net::error::eof);  // the close reached the device
    st.device.close();
  };
  run(io, [&]() -> net::awaitable<void> {
    using namespace net::experimental::awaitable_operators;
    co_await (spliced() && peers());
  }());
  CHECK(at_server == "a1 NOOP\r\n");
  CHECK(at_device == big);
  CHECK(result.client_to_upstream == 9);
  CHECK(result.upstream_to_client == big.size());
  CHECK(result.ended_by == "upstream_closed");
}

TEST_CASE("silence in both directions ends the splice; traffic one way keeps it alive") {
  net::io_context io;
  Stand st(io);
  Splice splice(st.client_side, st.upstream_side, 300ms);
  SpliceResult result;
  auto started = std::chrono::steady_clock::now();
  auto spliced = [&]() -> net::awaitable<void> { result = co_await splice.run(); };
  auto peers = [&]() -> net::awaitable<void> {
    // The server talks every 100 ms for 600 ms; the device never does.
    for (int i = 0; i < 6; ++i) {
      net::steady_timer t(io, 100ms);
      co_await t.async_wait(kAwait);
      co_await net::async_write(st.server, net::buffer(std::string("* OK still here\r\n")), kAwait);
    }
  };
  run(io, [&]() -> net::awaitable<void> {
    using namespace net::experimental::awaitable_operators;
    co_await (spliced() && peers());
  }());
  auto took = std::chrono::steady_clock::now() - started;
  CHECK(result.ended_by == "idle");
  CHECK(result.upstream_to_client == 6 * 17);
  CHECK(took >= 850ms);  // 600 ms of traffic + 300 ms of silence
}

TEST_CASE("stop() ends a splice at once") {
  net::io_context io;
  Stand st(io);
  Splice splice(st.client_side, st.upstream_side, 30s);
  SpliceResult result;
  run(io, [&]() -> net::awaitable<void> {
    using namespace net::experimental::awaitable_operators;
    auto stopper = [&]() -> net::awaitable<void> {
      net::steady_timer t(io, 50ms);
      co_await t.async_wait(kAwait);
      splice.stop();
    };
    auto spliced = [&]() -> net::awaitable<void> { result = co_await splice.run(); };
    co_await (spliced() && stopper());
  }());
  CHECK(result.ended_by == "shutdown");
}

TEST_CASE("half-close: the answer to what the client sent before closing still arrives") {
  net::io_context io;
  Stand st(io);
  Splice splice(st.client_side, st.upstream_side, 30s);
  SpliceResult result;
  std::string at_server, at_device;
  auto spliced = [&]() -> net::awaitable<void> { result = co_await splice.run(); };
  auto peers = [&]() -> net::awaitable<void> {
    co_await net::async_write(st.device, net::buffer(std::string("a LOGOUT\r\n")), kAwait);
    st.device.shutdown(tcp::socket::shutdown_send);
    at_server = co_await read_exactly(st.server, 10);
    char c;
    auto [ec, n] = co_await st.server.async_read_some(net::buffer(&c, 1), kAwait);
    CHECK(ec == net::error::eof);  // the half-close was passed on
    co_await net::async_write(st.server, net::buffer(std::string("* BYE\r\na OK LOGOUT\r\n")), kAwait);
    st.server.close();
    at_device = co_await read_exactly(st.device, 20);
  };
  run(io, [&]() -> net::awaitable<void> {
    using namespace net::experimental::awaitable_operators;
    co_await (spliced() && peers());
  }());
  CHECK(at_server == "a LOGOUT\r\n");
  CHECK(at_device == "* BYE\r\na OK LOGOUT\r\n");
  CHECK(result.ended_by == "client_closed");
}

TEST_CASE("half-close: a peer that never closes its side is given a short linger only") {
  net::io_context io;
  Stand st(io);
  Splice splice(st.client_side, st.upstream_side, 30s, 200ms);
  SpliceResult result;
  auto started = std::chrono::steady_clock::now();
  auto spliced = [&]() -> net::awaitable<void> { result = co_await splice.run(); };
  auto peers = [&]() -> net::awaitable<void> {
    st.server.close();  // the device keeps its side open and says nothing
    co_return;
  };
  run(io, [&]() -> net::awaitable<void> {
    using namespace net::experimental::awaitable_operators;
    co_await (spliced() && peers());
  }());
  auto took = std::chrono::steady_clock::now() - started;
  CHECK(result.ended_by == "upstream_closed");
  CHECK(took >= 200ms);
  CHECK(took < 5s);
}
