#include "relay/net/proxy_reader.hpp"

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace xr::relay {

using namespace net::experimental::awaitable_operators;

net::awaitable<ProxyRead> read_proxy_header(tcp::socket& socket, std::chrono::steady_clock::duration timeout) {
  ProxyRead out;
  proxy::HeaderParser parser;
  net::steady_timer timer(socket.get_executor());
  timer.expires_after(timeout);
  // Larger than a v1 line and than most v2 headers; longer ones take a few rounds.
  std::array<char, 512> buf{};
  for (;;) {
    auto waited = co_await (socket.async_wait(tcp::socket::wait_read, net::as_tuple(net::use_awaitable)) ||
                            timer.async_wait(net::as_tuple(net::use_awaitable)));
    if (waited.index() == 1) {
      out.error = "timeout";
      co_return out;
    }
    const int fd = socket.native_handle();
    const ssize_t peeked = ::recv(fd, buf.data(), buf.size(), MSG_PEEK | MSG_DONTWAIT);
    if (peeked < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
    if (peeked < 0) {
      out.error = std::string("error: ") + std::strerror(errno);
      co_return out;
    }
    if (peeked == 0) {
      out.error = "eof";
      co_return out;
    }
    const auto status = parser.feed(std::string_view(buf.data(), std::size_t(peeked)));
    if (status == proxy::Status::error) {
      out.error = parser.error();
      co_return out;
    }
    // Consume what belongs to the header: all of it while more is needed,
    // up to the header's end once it is complete.
    std::size_t take = std::size_t(peeked);
    if (status == proxy::Status::done) take -= parser.rest().size();
    while (take > 0) {
      const ssize_t got = ::recv(fd, buf.data(), take, MSG_DONTWAIT);
      if (got < 0 && errno == EINTR) continue;
      // The bytes were peeked a moment ago; only a reset can take them away.
      if (got <= 0) {
        out.error = "error: connection lost while reading the PROXY header";
        co_return out;
      }
      take -= std::size_t(got);
    }
    if (status == proxy::Status::done) {
      out.ok = true;
      out.source = parser.source();
      co_return out;
    }
  }
}

}  // namespace xr::relay
