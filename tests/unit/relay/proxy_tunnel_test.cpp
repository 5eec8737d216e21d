// connect_upstream through an HTTP proxy (relay/net/proxy_tunnel): a fake
// proxy on 127.0.0.1 checks the CONNECT request and answers; what the
// session then reads, and what each failure says.
#include "relay/net/upstream_connect.hpp"
#include "relay/tls.hpp"

#include "loopback.hpp"
#include "tests/unit/auth/test_pki.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <string>

using namespace xr;
using namespace xr::relay;
using namespace std::chrono_literals;
using xr::relay::test::run;

namespace {

struct Pki : xr::auth::test::ListenerPki {
  Pki() : ListenerPki("DNS:mx.test") {}
};

conf::EgressProxy proxy_at(std::uint16_t port, std::string credentials = {}) {
  conf::EgressProxy p;
  p.host = "127.0.0.1";
  p.port = port;
  p.url = "http://127.0.0.1:" + std::to_string(port);
  p.origin = "tenants.t.proxy";
  if (!credentials.empty()) {
    p.credentials = conf::Secret(std::move(credentials));
    p.auth_file = "/etc/xoauth2-relay/proxy-auth";
  }
  return p;
}

conf::Endpoint mx(conf::TlsMode tls = conf::TlsMode::starttls) {
  conf::Endpoint ep;
  ep.host = "mx.test";  // never resolved by the relay: the proxy would
  ep.port = 587;
  ep.tls = tls;
  return ep;
}

// Reads the request head (up to the blank line) off an accepted socket.
net::awaitable<std::string> read_head(tcp::socket& s) {
  std::string head;
  char c;
  while (!head.ends_with("\r\n\r\n")) {
    auto [ec, n] = co_await net::async_read(s, net::buffer(&c, 1), net::as_tuple(net::use_awaitable));
    if (ec || n == 0) break;
    head += c;
  }
  co_return head;
}

struct FakeProxy {
  explicit FakeProxy(net::io_context& io) : acceptor(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {}
  std::uint16_t port() const { return acceptor.local_endpoint().port(); }
  tcp::acceptor acceptor;
  std::string request;  // what the relay sent
};

}  // namespace

TEST_CASE("proxy tunnel: CONNECT with Basic auth; the greeting that came with the 200 reaches the session") {
  net::io_context io;
  FakeProxy proxy(io);
  Pki pki;
  auto tls = make_client_tls(pki.cert);
  Connection conn(tcp::socket(io), *tls);
  const auto via = proxy_at(proxy.port(), "relay:pw");
  std::optional<ConnectError> failed;
  std::string greeting;
  run(io, [&]() -> net::awaitable<void> {
    using namespace net::experimental::awaitable_operators;
    auto server = [&]() -> net::awaitable<void> {
      auto s = co_await proxy.acceptor.async_accept(net::use_awaitable);
      proxy.request = co_await read_head(s);
      // The proxy's 200 and the server's greeting in one segment.
      const std::string answer = "HTTP/1.0 200 Connection established\r\nProxy-agent: fake\r\n\r\n220 mx.test ESMTP\r\n";
      co_await net::async_write(s, net::buffer(answer), net::use_awaitable);
      co_await s.async_wait(tcp::socket::wait_read, net::as_tuple(net::use_awaitable));  // until the client closes
    };
    auto client = [&]() -> net::awaitable<void> {
      failed = co_await connect_upstream(conn, mx(), &via, 5s, false);
      if (!failed) {
        std::string buf(256, '\0');
        auto r = co_await conn.read_some(net::buffer(buf), 5s);
        if (r.ok()) greeting.assign(buf, 0, r.bytes);
      }
      conn.close_now();
    };
    co_await (server() && client());
  });
  CHECK_FALSE(failed);
  CHECK(proxy.request ==
        "CONNECT mx.test:587 HTTP/1.1\r\nHost: mx.test:587\r\nProxy-Authorization: Basic cmVsYXk6cHc=\r\n\r\n");
  CHECK(greeting == "220 mx.test ESMTP\r\n");
}

TEST_CASE("proxy tunnel: implicit TLS runs through the tunnel and verifies the upstream's name") {
  net::io_context io;
  FakeProxy proxy(io);
  Pki pki;
  auto server_tls = make_server_tls(pki.cert, pki.key);
  auto client_tls = make_client_tls(pki.cert);
  Connection conn(tcp::socket(io), *client_tls);
  const auto via = proxy_at(proxy.port());
  std::optional<ConnectError> failed;
  std::string greeting;
  run(io, [&]() -> net::awaitable<void> {
    using namespace net::experimental::awaitable_operators;
    auto server = [&]() -> net::awaitable<void> {
      auto s = co_await proxy.acceptor.async_accept(net::use_awaitable);
      proxy.request = co_await read_head(s);
      co_await net::async_write(s, net::buffer(std::string("HTTP/1.1 200 OK\r\n\r\n")), net::use_awaitable);
      // Behind the proxy: the IMAP server, TLS from the first byte.
      Connection upstream(std::move(s), *server_tls);
      auto hs = co_await upstream.handshake_server(5s);
      if (hs.ok()) co_await upstream.write_all("* OK IMAP4 ready\r\n", 5s);
      co_await upstream.close(1s);
    };
    auto client = [&]() -> net::awaitable<void> {
      auto ep = mx(conf::TlsMode::implicit);
      ep.port = 993;
      failed = co_await connect_upstream(conn, ep, &via, 5s, true);
      if (!failed) {
        std::string buf(256, '\0');
        auto r = co_await conn.read_some(net::buffer(buf), 5s);
        if (r.ok()) greeting.assign(buf, 0, r.bytes);
      }
      co_await conn.close(1s);
    };
    co_await (server() && client());
  });
  REQUIRE_FALSE(failed);
  CHECK(proxy.request == "CONNECT mx.test:993 HTTP/1.1\r\nHost: mx.test:993\r\n\r\n");
  CHECK(conn.tls_active());
  CHECK(greeting == "* OK IMAP4 ready\r\n");
}

TEST_CASE("proxy tunnel: a certificate for another name fails at the upstream hop, as without a proxy") {
  net::io_context io;
  FakeProxy proxy(io);
  xr::auth::test::ListenerPki other("DNS:other.test");
  auto server_tls = make_server_tls(other.cert, other.key);
  auto client_tls = make_client_tls(other.cert);
  Connection conn(tcp::socket(io), *client_tls);
  const auto via = proxy_at(proxy.port());
  std::optional<ConnectError> failed;
  run(io, [&]() -> net::awaitable<void> {
    using namespace net::experimental::awaitable_operators;
    auto server = [&]() -> net::awaitable<void> {
      auto s = co_await proxy.acceptor.async_accept(net::use_awaitable);
      co_await read_head(s);
      co_await net::async_write(s, net::buffer(std::string("HTTP/1.1 200 OK\r\n\r\n")), net::use_awaitable);
      Connection upstream(std::move(s), *server_tls);
      co_await upstream.handshake_server(5s);
      upstream.close_now();
    };
    auto client = [&]() -> net::awaitable<void> {
      failed = co_await connect_upstream(conn, mx(conf::TlsMode::implicit), &via, 5s, true);
    };
    co_await (server() && client());
  });
  REQUIRE(failed);
  CHECK(failed->hop == Hop::upstream);
  CHECK(failed->tls);
  CHECK(failed->detail.starts_with("TLS handshake with mx.test:587: "));
}

TEST_CASE("proxy tunnel: a refusal names the proxy, the target and the status; 407 says what to set") {
  struct Case {
    std::string answer, credentials, detail;
    int status;
  };
  for (const auto& c : std::vector<Case>{
           {"HTTP/1.0 403 Access violation\r\nContent-Type: text/html\r\n\r\n<html>no</html>", "",
            "refused CONNECT to mx.test:587: 403 Access violation", 403},
           {"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"p\"\r\n\r\n", "",
            "refused CONNECT to mx.test:587: 407 Proxy Authentication Required (the proxy wants credentials: set "
            "proxy_auth_file to a file with user:password)",
            407},
           {"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n", "relay:wrong",
            "407 Proxy Authentication Required (the proxy did not accept the credentials from "
            "/etc/xoauth2-relay/proxy-auth)",
            407},
           {"SSH-2.0-OpenSSH_9.2\r\n", "", "sent no valid answer to CONNECT mx.test:587: not an HTTP answer", 0},
           {"", "", "closed the connection before answering (CONNECT to mx.test:587)", 0},
       }) {
    CAPTURE(c.answer);
    net::io_context io;
    FakeProxy proxy(io);
    Pki pki;
    auto tls = make_client_tls(pki.cert);
    Connection conn(tcp::socket(io), *tls);
    const auto via = proxy_at(proxy.port(), c.credentials);
    std::optional<ConnectError> failed;
    run(io, [&]() -> net::awaitable<void> {
      using namespace net::experimental::awaitable_operators;
      auto server = [&]() -> net::awaitable<void> {
        auto s = co_await proxy.acceptor.async_accept(net::use_awaitable);
        co_await read_head(s);
        if (!c.answer.empty()) co_await net::async_write(s, net::buffer(c.answer), net::use_awaitable);
        s.shutdown(tcp::socket::shutdown_send);
        co_await s.async_wait(tcp::socket::wait_read, net::as_tuple(net::use_awaitable));
      };
      auto client = [&]() -> net::awaitable<void> { failed = co_await connect_upstream(conn, mx(), &via, 5s, false); };
      co_await (server() && client());
    });
    REQUIRE(failed);
    CHECK(failed->hop == Hop::proxy);
    CHECK_FALSE(failed->tls);
    CHECK(failed->proxy_status == c.status);
    CHECK(failed->detail.starts_with("proxy " + via.url + " "));
    CHECK(failed->detail.find(c.detail) != std::string::npos);
    // The password never appears, in any form.
    CHECK(failed->detail.find("wrong") == std::string::npos);
  }
}

TEST_CASE("proxy tunnel: a proxy that is down, or silent, fails at the proxy hop within the deadline") {
  net::io_context io;
  Pki pki;
  auto tls = make_client_tls(pki.cert);
  std::uint16_t closed_port = 0;
  {
    tcp::acceptor a(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    closed_port = a.local_endpoint().port();
  }  // closed: nothing listens there now
  {
    Connection conn(tcp::socket(io), *tls);
    const auto via = proxy_at(closed_port);
    std::optional<ConnectError> failed;
    run(io, [&]() -> net::awaitable<void> { failed = co_await connect_upstream(conn, mx(), &via, 5s, false); });
    REQUIRE(failed);
    CHECK(failed->hop == Hop::proxy);
    CHECK(failed->proxy_status == 0);
    CHECK(failed->detail == "connect to proxy " + via.url + ": Connection refused");
  }
  {
    FakeProxy silent(io);  // accepts (the kernel does), never answers
    Connection conn(tcp::socket(io), *tls);
    const auto via = proxy_at(silent.port());
    std::optional<ConnectError> failed;
    const auto t0 = std::chrono::steady_clock::now();
    run(io, [&]() -> net::awaitable<void> { failed = co_await connect_upstream(conn, mx(), &via, 1s, false); });
    const auto took = std::chrono::steady_clock::now() - t0;
    REQUIRE(failed);
    CHECK(failed->hop == Hop::proxy);
    CHECK(failed->detail == "proxy " + via.url + " did not answer CONNECT to mx.test:587 in time");
    CHECK(took >= 900ms);
    CHECK(took < 3s);
  }
}

TEST_CASE("proxy tunnel: a host that cannot go into a request line is refused before connecting") {
  net::io_context io;
  Pki pki;
  auto tls = make_client_tls(pki.cert);
  Connection conn(tcp::socket(io), *tls);
  const auto via = proxy_at(1);  // never contacted
  auto ep = mx();
  ep.host = "mx.test\r\nX-Evil: 1";
  std::optional<ConnectError> failed;
  run(io, [&]() -> net::awaitable<void> { failed = co_await connect_upstream(conn, ep, &via, 5s, false); });
  REQUIRE(failed);
  CHECK(failed->hop == Hop::proxy);
  CHECK(failed->detail.find("not a host name") != std::string::npos);
}
