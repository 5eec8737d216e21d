#include "relay/connection.hpp"

#include <openssl/ssl.h>

namespace xr::relay {

using namespace net::experimental::awaitable_operators;
using boost::system::error_code;

const char* to_string(IoStatus s) {
  switch (s) {
    case IoStatus::ok: return "ok";
    case IoStatus::eof: return "eof";
    case IoStatus::error: return "error";
    case IoStatus::timeout: return "timeout";
    case IoStatus::interrupted: return "interrupted";
  }
  return "error";
}

std::string IoResult::describe() const {
  if (status == IoStatus::error) return std::string("error: ") + ec.message();
  return to_string(status);
}

namespace {

constexpr auto kAwait = net::as_tuple(net::use_awaitable);

bool is_eof(const error_code& ec) {
  return ec == net::error::eof || ec == ssl::error::stream_truncated ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe;
}

// Runs `op` against a timer; whichever finishes first wins, the other is
// cancelled. The copy loops return errors as values, so `||` is safe here.
template <typename Op>
net::awaitable<IoResult> bounded(Op op, net::steady_timer& timer, Connection::Duration timeout,
                                 const bool& interrupted) {
  timer.expires_after(timeout);
  auto result = co_await (std::move(op) || timer.async_wait(kAwait));
  IoResult r;
  if (result.index() == 1) {
    r.status = interrupted ? IoStatus::interrupted : IoStatus::timeout;
    co_return r;
  }
  auto [ec, n] = std::get<0>(result);
  r.bytes = n;
  r.ec = ec;
  if (!ec) r.status = IoStatus::ok;
  else if (is_eof(ec)) r.status = IoStatus::eof;
  else r.status = IoStatus::error;
  co_return r;
}

// Handshakes complete with error_code only; give them the (ec, n) shape.
template <typename Awaitable>
net::awaitable<std::tuple<error_code, std::size_t>> with_size(Awaitable a) {
  auto [ec] = co_await std::move(a);
  co_return std::tuple<error_code, std::size_t>{ec, 0};
}

}  // namespace

Connection::Connection(tcp::socket socket, ssl::context& ctx)
    : tls_(std::move(socket), ctx), read_timer_(tls_.get_executor()), write_timer_(tls_.get_executor()) {}

std::string Connection::tls_description() const {
  if (!tls_active_) return "none";
  SSL* ssl = const_cast<ssl::stream<tcp::socket>&>(tls_).native_handle();
  return std::string(SSL_get_version(ssl)) + " " + SSL_get_cipher_name(ssl);
}

net::awaitable<IoResult> Connection::read_some(net::mutable_buffer buf, Duration timeout) {
  // An interrupt is one-shot: the session reacts (e.g. finishes the message
  // in progress) and may read again.
  if (interrupted_) {
    interrupted_ = false;
    co_return IoResult{IoStatus::interrupted};
  }
  reading_ = true;
  IoResult r = tls_active_
                   ? co_await bounded(tls_.async_read_some(buf, kAwait), read_timer_, timeout, interrupted_)
                   : co_await bounded(socket().async_read_some(buf, kAwait), read_timer_, timeout, interrupted_);
  reading_ = false;
  if (r.status == IoStatus::interrupted) interrupted_ = false;
  if (r.status == IoStatus::ok && r.bytes == 0) r.status = IoStatus::eof;
  co_return r;
}

net::awaitable<IoResult> Connection::write_all(std::string_view data, Duration timeout) {
  auto buf = net::buffer(data.data(), data.size());
  IoResult r = tls_active_ ? co_await bounded(net::async_write(tls_, buf, kAwait), write_timer_, timeout, closed_)
                           : co_await bounded(net::async_write(socket(), buf, kAwait), write_timer_, timeout, closed_);
  // A write is never "interrupted": only reads wait for the peer indefinitely.
  if (r.status == IoStatus::interrupted) r.status = IoStatus::timeout;
  co_return r;
}

net::awaitable<IoResult> Connection::handshake_server(Duration timeout) {
  IoResult r = co_await bounded(with_size(tls_.async_handshake(ssl::stream_base::server, kAwait)),
                                write_timer_, timeout, closed_);
  if (r.status == IoStatus::interrupted) r.status = IoStatus::timeout;
  if (r.ok()) tls_active_ = true;
  co_return r;
}

net::awaitable<IoResult> Connection::handshake_client(const std::string& verify_host, Duration timeout) {
  error_code ec;
  auto addr = net::ip::make_address(verify_host, ec);
  // SNI carries host names only (RFC 6066), never IP literals.
  if (ec) SSL_set_tlsext_host_name(tls_.native_handle(), verify_host.c_str());
  (void)addr;
  tls_.set_verify_mode(ssl::verify_peer);
  tls_.set_verify_callback(ssl::host_name_verification(verify_host));
  IoResult r = co_await bounded(with_size(tls_.async_handshake(ssl::stream_base::client, kAwait)),
                                write_timer_, timeout, closed_);
  if (r.status == IoStatus::interrupted) r.status = IoStatus::timeout;
  if (r.ok()) tls_active_ = true;
  co_return r;
}

net::awaitable<void> Connection::close(Duration timeout) {
  if (closed_) co_return;
  if (tls_active_) {
    // close_notify, bounded: a peer that never answers must not hold us.
    co_await bounded(with_size(tls_.async_shutdown(kAwait)), write_timer_, timeout, closed_);
  }
  close_now();
}

void Connection::close_now() {
  if (closed_) return;
  closed_ = true;
  error_code ignored;
  socket().shutdown(tcp::socket::shutdown_both, ignored);
  socket().close(ignored);
  read_timer_.cancel();
  write_timer_.cancel();
}

void Connection::shutdown_send() {
  if (closed_ || tls_active_) return;
  error_code ignored;
  socket().shutdown(tcp::socket::shutdown_send, ignored);
}

void Connection::interrupt() {
  interrupted_ = true;
  if (reading_) read_timer_.cancel();
}

}  // namespace xr::relay
