#include "relay/net/proxy_tunnel.hpp"

#include "protocols/http_connect.hpp"
#include "protocols/secret.hpp"

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

namespace xr::relay {

using namespace net::experimental::awaitable_operators;

namespace {

constexpr auto kAwait = net::as_tuple(net::use_awaitable);

// Why a 407 (or a 401, tinyproxy's answer to wrong credentials) happened,
// in the admin's terms: no credentials configured, or
// the ones in the file were not accepted. Names the file, never its content.
std::string auth_hint(const conf::EgressProxy& proxy) {
  if (proxy.credentials.empty())
    return " (the proxy wants credentials: set proxy_auth_file to a file with user:password)";
  return " (the proxy did not accept the credentials from " + proxy.auth_file.value_or("proxy_auth_file") + ")";
}

// Closes the socket (the caller's Connection sees a closed socket) and says why.
std::optional<TunnelFailure> fail_closing(tcp::socket& socket, std::string detail, int status = 0) {
  boost::system::error_code ignored;
  socket.close(ignored);
  return TunnelFailure{status, std::move(detail)};
}

// The answer so far: peek what arrived, feed it, then consume exactly what
// the head took (all of it while more is needed, so the next wait is for new
// bytes; only up to the head's end once it is complete). Empty while the head
// is incomplete and nothing went wrong; else the failure, or "" when the
// tunnel is open.
struct AnswerReader {
  protocols::ConnectReplyParser parser;
  std::array<char, 512> buf{};

  // nullopt: wait for more. A failure's detail, or "" for established.
  std::optional<std::string> read_available(int fd, const std::string& via) {
    const ssize_t peeked = ::recv(fd, buf.data(), buf.size(), MSG_PEEK | MSG_DONTWAIT);
    if (peeked < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return std::nullopt;
    if (peeked < 0) return "reading the answer of proxy " + via + ": " + std::strerror(errno);
    if (peeked == 0) return "proxy " + via + " closed the connection before answering";
    std::size_t take = parser.feed(std::string_view(buf.data(), std::size_t(peeked)));
    while (take > 0) {
      const ssize_t got = ::recv(fd, buf.data(), take, MSG_DONTWAIT);
      if (got < 0 && errno == EINTR) continue;
      // The bytes were peeked a moment ago; only a reset can take them away.
      if (got <= 0) return "connection to proxy " + via + " lost while reading its answer";
      take -= std::size_t(got);
    }
    if (parser.status() == protocols::ConnectReply::need_more) return std::nullopt;
    return std::string();
  }
};

// Resolves and connects to the proxy itself.
net::awaitable<std::optional<TunnelFailure>> connect_to_proxy(tcp::socket& socket, const conf::EgressProxy& proxy,
                                                              net::steady_timer& timer) {
  auto ex = co_await net::this_coro::executor;
  const std::string& via = proxy.url;
  tcp::resolver resolver(ex);
  auto resolved = co_await (resolver.async_resolve(proxy.host, std::to_string(proxy.port), kAwait) ||
                            timer.async_wait(kAwait));
  if (resolved.index() == 1)
    co_return fail_closing(socket, "resolving proxy host " + proxy.host + " (" + via + ") timed out");
  auto [rec, endpoints] = std::get<0>(resolved);
  if (rec)
    co_return fail_closing(socket, "cannot resolve proxy host " + proxy.host + " (" + via + "): " + rec.message());

  auto connected = co_await (net::async_connect(socket, endpoints, kAwait) || timer.async_wait(kAwait));
  if (connected.index() == 1) co_return fail_closing(socket, "connect to proxy " + via + " timed out");
  if (auto ec = std::get<0>(std::get<0>(connected)))
    co_return fail_closing(socket, "connect to proxy " + via + ": " + ec.message());
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  co_return std::nullopt;
}

// Sends the request (and wipes it: it may hold the proxy password) and reads
// the answer's head.
net::awaitable<std::optional<TunnelFailure>> exchange(tcp::socket& socket, const conf::EgressProxy& proxy,
                                                      const std::string& target, std::string& request,
                                                      net::steady_timer& timer) {
  const std::string& via = proxy.url;
  auto sent = co_await (net::async_write(socket, net::buffer(request), kAwait) || timer.async_wait(kAwait));
  wipe_secret(request);
  if (sent.index() == 1)
    co_return fail_closing(socket, "sending CONNECT " + target + " to proxy " + via + " timed out");
  if (auto ec = std::get<0>(std::get<0>(sent)))
    co_return fail_closing(socket, "sending CONNECT " + target + " to proxy " + via + ": " + ec.message());

  auto reader = std::make_unique<AnswerReader>();  // on the heap: a small coroutine frame
  for (;;) {
    auto waited = co_await (socket.async_wait(tcp::socket::wait_read, kAwait) || timer.async_wait(kAwait));
    if (waited.index() == 1)
      co_return fail_closing(socket, "proxy " + via + " did not answer CONNECT to " + target + " in time");
    auto done = reader->read_available(socket.native_handle(), via);
    if (!done) continue;
    if (!done->empty()) co_return fail_closing(socket, *done + " (CONNECT to " + target + ")");
    const auto& parser = reader->parser;
    switch (parser.status()) {
      case protocols::ConnectReply::need_more: continue;  // not reached: read_available said done
      case protocols::ConnectReply::established: co_return std::nullopt;
      case protocols::ConnectReply::refused: {
        std::string why = "proxy " + via + " refused CONNECT to " + target + ": " + parser.status_text();
        if (parser.code() == 407 || parser.code() == 401) why += auth_hint(proxy);
        co_return fail_closing(socket, std::move(why), parser.code());
      }
      case protocols::ConnectReply::malformed:
        co_return fail_closing(socket,
                               "proxy " + via + " sent no valid answer to CONNECT " + target + ": " + parser.error());
    }
  }
}

}  // namespace

net::awaitable<std::optional<TunnelFailure>> open_proxy_tunnel(tcp::socket& socket, const conf::EgressProxy& proxy,
                                                               const std::string& host, std::uint16_t port,
                                                               std::chrono::steady_clock::time_point deadline) {
  const std::string target = protocols::connect_authority(host, port);
  // Built first: a host that cannot go into a request line fails before any
  // connection is made.
  auto request = protocols::http_connect_request(host, port, proxy.credentials.reveal());
  // (Not echoed: whatever it holds could break the log line too.)
  if (!request)
    co_return fail_closing(socket, "cannot ask proxy " + proxy.url + " for a tunnel: the upstream is not a host name");
  net::steady_timer timer(co_await net::this_coro::executor, deadline);
  auto failed = co_await connect_to_proxy(socket, proxy, timer);
  if (failed) {
    wipe_secret(*request);
    co_return failed;
  }
  co_return co_await exchange(socket, proxy, target, *request, timer);
}

}  // namespace xr::relay
