// Connection's fast paths: reads and writes that try before they wait, TLS
// records collected and written together (TlsWriteBuffer), several records
// per read, and an end that arrives with the last data.
#include "relay/connection.hpp"
#include "relay/net/tls_write_buffer.hpp"
#include "relay/tls.hpp"

#include "loopback.hpp"
#include "tests/unit/auth/test_pki.hpp"

#include <doctest/doctest.h>

#include <openssl/bio.h>

#include <string>

using namespace xr::relay;
using namespace std::chrono_literals;
using xr::relay::test::run;
using xr::relay::test::socket_pair;

namespace {

struct Pki : xr::auth::test::ListenerPki {
  Pki() : ListenerPki("IP:127.0.0.1") {}
};

// A server and a client Connection over loopback, TLS set up when asked.
struct Pair {
  Pair(net::io_context& io, bool tls)
      : server_tls(make_server_tls(pki.cert, pki.key)),
        client_tls(make_client_tls(pki.cert)),
        sockets(socket_pair(io)),
        server(std::move(sockets.first), *server_tls),
        client(std::move(sockets.second), *client_tls) {
    if (!tls) return;
    bool server_ok = false, client_ok = false;
    auto both = [&]() -> net::awaitable<void> {
      using namespace net::experimental::awaitable_operators;
      auto [s, c] = co_await (server.handshake_server(5s) && client.handshake_client("127.0.0.1", 5s));
      server_ok = s.ok();
      client_ok = c.ok();
    };
    run(io, both());
    REQUIRE(server_ok);
    REQUIRE(client_ok);
  }
  Pki pki;
  std::shared_ptr<ssl::context> server_tls, client_tls;
  std::pair<tcp::socket, tcp::socket> sockets;
  Connection server, client;
};

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

// Reads until `n` bytes or the first non-ok result.
net::awaitable<std::string> read_all(Connection& c, std::size_t n, IoResult& last) {
  std::string got;
  std::string buf(64 * 1024, '\0');
  while (got.size() < n) {
    last = co_await c.read_some(net::buffer(buf), 5s);
    if (!last.ok()) break;
    got.append(buf, 0, last.bytes);
  }
  co_return got;
}

}  // namespace

TEST_CASE("TlsWriteBuffer: takes records up to its cap, refuses more until written, then holds nothing") {
  TlsWriteBuffer b;
  CHECK(b.empty());
  const std::string record(16 * 1024, 'r');
  std::size_t taken = 0;
  while (b.append(record.data(), record.size())) taken += record.size();
  CHECK(taken <= TlsWriteBuffer::kCap);
  CHECK(taken + record.size() > TlsWriteBuffer::kCap);
  CHECK(b.unsent().size() == taken);
  b.sent(100);
  CHECK(b.unsent().size() == taken - 100);
  CHECK_FALSE(b.append(record.data(), record.size()));  // still full
  b.sent(taken - 100);
  CHECK(b.empty());
  CHECK(b.append(record.data(), record.size()));  // room again
  CHECK(b.unsent() == record);
  // As OpenSSL sees it: a BIO that takes everything and reports retry when full.
  TlsWriteBuffer via_bio;
  BIO* bio = via_bio.make_bio();
  REQUIRE(bio);
  CHECK(BIO_write(bio, "hello", 5) == 5);
  CHECK(via_bio.unsent() == "hello");
  CHECK(BIO_flush(bio) == 1);
  BIO_free(bio);
}

TEST_CASE("TLS: 3 MB each way at once arrive intact (records collected, written in few calls)") {
  net::io_context io;
  Pair p(io, true);
  const std::string up = pattern(3 * 1024 * 1024), down = pattern(3 * 1024 * 1024 + 17);
  std::string got_up, got_down;
  IoResult last_up, last_down, w1, w2;
  auto writer = [](Connection& c, const std::string& data, IoResult& r) -> net::awaitable<void> {
    // In uneven pieces, larger than the buffer's cap too.
    std::size_t at = 0, piece = 1000;
    while (at < data.size() && r.ok()) {
      const std::size_t n = std::min(piece, data.size() - at);
      r = co_await c.write_all(std::string_view(data).substr(at, n), 5s);
      at += n;
      piece = piece * 3 % 700'001 + 1;
    }
  };
  auto reader = [&](Connection& c, std::size_t n, std::string& out, IoResult& last) -> net::awaitable<void> {
    out = co_await read_all(c, n, last);
  };
  auto all = [&]() -> net::awaitable<void> {
    using namespace net::experimental::awaitable_operators;
    co_await (writer(p.client, up, w1) && writer(p.server, down, w2) && reader(p.server, up.size(), got_up, last_up) &&
              reader(p.client, down.size(), got_down, last_down));
  };
  run(io, all());
  CHECK(w1.ok());
  CHECK(w2.ok());
  CHECK(got_up == up);
  CHECK(got_down == down);
}

TEST_CASE("TLS: an end read together with the last data is reported on the next read, not lost") {
  // The peer's last record and its close_notify usually arrive in one
  // segment, and a peer may then wait for our close_notify before it closes
  // TCP (Python's unwrap() does). Read-ahead takes both records from the
  // socket at once, so no later wait for the socket would see the end.
  net::io_context io;
  Pki pki;
  auto server_tls = make_server_tls(pki.cert, pki.key);
  auto client_tls = make_client_tls(pki.cert);
  auto [server_socket, client_socket] = socket_pair(io);
  ssl::stream<tcp::socket&> peer(server_socket, *server_tls);
  Connection client(std::move(client_socket), *client_tls);
  IoResult first, second;
  std::string data;
  auto serve = [&]() -> net::awaitable<void> {
    co_await peer.async_handshake(ssl::stream_base::server, net::use_awaitable);
    co_await net::async_write(peer, net::buffer(std::string_view("a3 OK LOGOUT completed\r\n")), net::use_awaitable);
    // close_notify, then it waits for ours and keeps TCP open meanwhile.
    auto [ec] = co_await peer.async_shutdown(net::as_tuple(net::use_awaitable));
    (void)ec;
  };
  auto read = [&]() -> net::awaitable<void> {
    const bool handshaken = (co_await client.handshake_client("127.0.0.1", 5s)).ok();
    REQUIRE(handshaken);
    net::steady_timer t(co_await net::this_coro::executor, 300ms);
    co_await t.async_wait(net::use_awaitable);  // both records are in the socket now
    std::string buf(64 * 1024, '\0');
    first = co_await client.read_some(net::buffer(buf), 2s);
    data.assign(buf, 0, first.bytes);
    // As the splice does: wait without a buffer, then read.
    second = co_await client.wait_readable(2s);
    if (second.ok()) second = co_await client.read_some(net::buffer(buf), 2s);
    co_await client.close(2s);
  };
  auto both = [&]() -> net::awaitable<void> {
    using namespace net::experimental::awaitable_operators;
    co_await (serve() && read());
  };
  run(io, both());
  CHECK(first.ok());
  CHECK(data == "a3 OK LOGOUT completed\r\n");
  CHECK(second.status == IoStatus::eof);  // a timeout here: the end was swallowed
}

TEST_CASE("plaintext and TLS: try_read_some takes what is there and never waits") {
  for (const bool tls : {false, true}) {
    CAPTURE(tls);
    net::io_context io;
    Pair p(io, tls);
    std::string buf(4096, '\0');
    CHECK_FALSE(p.client.try_read_some(net::buffer(buf)).has_value());  // nothing sent yet
    IoResult w;
    auto send = [&]() -> net::awaitable<void> { w = co_await p.server.write_all("NOOP\r\n", 5s); };
    run(io, send());
    REQUIRE(w.ok());
    // The bytes are on their way over loopback: wait until readable first.
    IoResult readable;
    auto wait = [&]() -> net::awaitable<void> { readable = co_await p.client.wait_readable(5s); };
    run(io, wait());
    REQUIRE(readable.ok());
    auto got = p.client.try_read_some(net::buffer(buf));
    REQUIRE(got.has_value());
    REQUIRE(got->ok());
    CHECK(std::string_view(buf.data(), got->bytes) == "NOOP\r\n");
    CHECK_FALSE(p.client.try_read_some(net::buffer(buf)).has_value());
  }
}

TEST_CASE("plaintext: read_some returns at once what is there, then EOF when the peer closes") {
  net::io_context io;
  Pair p(io, false);
  IoResult last;
  std::string got;
  auto go = [&]() -> net::awaitable<void> {
    co_await p.server.write_all(pattern(200'000), 5s);
    p.server.close_now();
    got = co_await read_all(p.client, 1'000'000, last);
  };
  run(io, go());
  CHECK(got == pattern(200'000));
  CHECK(last.status == IoStatus::eof);
}
