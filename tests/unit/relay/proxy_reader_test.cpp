#include "relay/net/proxy_reader.hpp"

#include "loopback.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace xr::relay;
using namespace std::chrono_literals;
using xr::relay::test::run;
using xr::relay::test::socket_pair;

namespace {

// What the session would read after the header, within a short wait.
std::string drain(tcp::socket& s) {
  std::string out;
  char buf[256];
  boost::system::error_code ec;
  while (s.available(ec) > 0) {
    auto n = s.read_some(net::buffer(buf), ec);
    if (ec) break;
    out.append(buf, n);
  }
  return out;
}

}  // namespace

TEST_CASE("PROXY reader: the header is consumed exactly; the client's bytes stay in the socket") {
  net::io_context io;
  auto [client, server] = socket_pair(io);
  // One segment: header and a TLS ClientHello's first bytes, as HAProxy may send them.
  const std::string sent = "PROXY TCP4 192.0.2.10 198.51.100.1 51000 993\r\n\x16\x03\x01\x00\x05hello";
  net::write(client, net::buffer(sent));
  ProxyRead got;
  run(io, [&]() -> net::awaitable<void> { got = co_await read_proxy_header(server, 5s); });
  REQUIRE(got.ok);
  CHECK(got.source.address == "192.0.2.10");
  CHECK(got.source.port == 51000);
  std::string rest;
  for (int i = 0; i < 100 && rest.size() < 10; ++i) rest += drain(server);
  CHECK(rest == "\x16\x03\x01\x00\x05hello");
}

TEST_CASE("PROXY reader: a v2 header arriving in pieces") {
  net::io_context io;
  auto [client, server] = socket_pair(io);
  const std::string header("\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c\xc0\x00\x02\x0a\xc6\x33\x64\x01\xc7\x38\x02\x4b", 28);
  ProxyRead got;
  net::steady_timer gap(io);
  run(io, [&]() -> net::awaitable<void> {
    using namespace net::experimental::awaitable_operators;
    auto writer = [&]() -> net::awaitable<void> {
      for (std::size_t i = 0; i < header.size(); i += 5) {
        co_await net::async_write(client, net::buffer(header.substr(i, 5)), net::use_awaitable);
        gap.expires_after(5ms);
        co_await gap.async_wait(net::use_awaitable);
      }
      co_await net::async_write(client, net::buffer(std::string("EHLO x\r\n")), net::use_awaitable);
    };
    auto reader = [&]() -> net::awaitable<void> { got = co_await read_proxy_header(server, 5s); };
    co_await (writer() && reader());
  });
  REQUIRE(got.ok);
  CHECK(got.source.address == "192.0.2.10");
  std::string rest;
  for (int i = 0; i < 100 && rest.size() < 8; ++i) rest += drain(server);
  CHECK(rest == "EHLO x\r\n");
}

TEST_CASE("PROXY reader: silence times out, garbage and EOF fail") {
  net::io_context io;
  {
    auto [client, server] = socket_pair(io);
    ProxyRead got;
    run(io, [&]() -> net::awaitable<void> { got = co_await read_proxy_header(server, 100ms); });
    CHECK_FALSE(got.ok);
    CHECK(got.error == "timeout");
  }
  {
    auto [client, server] = socket_pair(io);
    net::write(client, net::buffer(std::string("EHLO x\r\n")));
    ProxyRead got;
    run(io, [&]() -> net::awaitable<void> { got = co_await read_proxy_header(server, 5s); });
    CHECK_FALSE(got.ok);
    CHECK(got.error == "not a PROXY protocol header");
  }
  {
    auto [client, server] = socket_pair(io);
    net::write(client, net::buffer(std::string("PROXY TCP4 1.2")));
    client.close();
    ProxyRead got;
    run(io, [&]() -> net::awaitable<void> { got = co_await read_proxy_header(server, 5s); });
    CHECK_FALSE(got.ok);
    CHECK(got.error == "eof");
  }
}
