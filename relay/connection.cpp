#include "relay/connection.hpp"

#include "relay/tls_resumption.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <utility>

namespace xr::relay {

using boost::system::error_code;
using SteadyTime = std::chrono::steady_clock::time_point;

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
  if (status != IoStatus::error) return to_string(status);
  if (!tls_error.empty()) return "error: " + tls_error;
  return "error: " + ec.message();
}

namespace {

bool is_eof(const error_code& ec) {
  return ec == net::error::eof || ec == net::error::connection_reset || ec == net::error::broken_pipe;
}

IoResult from_error(const error_code& ec, std::size_t n) {
  IoResult r;
  r.bytes = n;
  r.ec = ec;
  r.status = !ec ? IoStatus::ok : is_eof(ec) ? IoStatus::eof : IoStatus::error;
  return r;
}

// A reader gives the thread to others after this many reads that found
// data at once (16 x 16-64 KiB: well under a millisecond of work).
constexpr int kReadsBeforeYield = 16;

// Nothing to read, or no room to write, right now.
bool would_block(const error_code& ec) { return ec == net::error::would_block || ec == net::error::try_again; }

SteadyTime deadline_after(Connection::Duration timeout) { return std::chrono::steady_clock::now() + timeout; }

}  // namespace

Connection::Connection(tcp::socket socket, ssl::context& ctx)
    : socket_(std::move(socket)), ctx_(ctx) {}

Connection::~Connection() {
  if (ssl_) SSL_free(ssl_);
}

std::string Connection::tls_description() const {
  if (!tls_active_) return "none";
  return std::string(SSL_get_version(ssl_)) + " " + SSL_get_cipher_name(ssl_);
}

bool Connection::tls_resumed() const { return tls_active_ && SSL_session_reused(ssl_) == 1; }

IoResult Connection::tls_failure(int ssl_error) {
  IoResult r;
  if (ssl_error == SSL_ERROR_ZERO_RETURN) {
    r.status = IoStatus::eof;
    return r;
  }
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if ((ssl_error == SSL_ERROR_SYSCALL && e == 0) ||
      (ssl_error == SSL_ERROR_SSL && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
    // The peer closed TCP without close_notify, as many clients do (OpenSSL
    // 1.1 reports SYSCALL, OpenSSL 3 this reason): an EOF for us.
    r.status = IoStatus::eof;
    return r;
  }
  r.status = IoStatus::error;
  char text[256];
  ERR_error_string_n(e, text, sizeof text);
  r.tls_error = e ? text : "TLS failure";
  if (ssl_ && SSL_get_verify_result(ssl_) != X509_V_OK)
    r.tls_error += std::string(" (certificate: ") + X509_verify_cert_error_string(SSL_get_verify_result(ssl_)) + ")";
  return r;
}

// The socket wait races the timer; whichever completes first wins and the
// other is cancelled. A parallel group of the two bare operations, and not a
// coroutine of its own: the `||` of awaitables spawned a coroutine thread per
// operand, and a wrapping coroutine's frame took 0.7 KiB more, which every
// idle session held for as long as it waited. Callers co_await it and read
// the result with outcome().
net::awaitable<Connection::Raced> Connection::race(Want want, SteadyTime deadline,
                                                  std::unique_ptr<net::steady_timer>& timer) {
  const auto type = want == Want::read ? tcp::socket::wait_read : tcp::socket::wait_write;
  if (!timer) timer = std::make_unique<net::steady_timer>(socket_.get_executor());
  timer->expires_at(deadline);
  return net::experimental::make_parallel_group(socket_.async_wait(type, net::deferred), timer->async_wait(net::deferred))
      .async_wait(net::experimental::wait_for_one(), net::use_awaitable);
}

IoResult Connection::take_deferred() {
  IoResult r = std::move(*deferred_);
  deferred_.reset();
  return r;
}

IoResult Connection::outcome(const Raced& raced, bool interrupted) {
  const auto& [order, waited, timer_ec] = raced;
  // The timer first: the deadline passed, or interrupt()/close_now()
  // cancelled it to wake this wait.
  if (order[0] == 1) return IoResult{interrupted ? IoStatus::interrupted : IoStatus::timeout};
  return from_error(waited, 0);
}

IoResult Connection::read_now(net::mutable_buffer buf, std::optional<Want>& want) {
  want.reset();
  if (!tls_active_) {
    set_non_blocking();
    error_code ec;
    const std::size_t n = socket_.read_some(buf, ec);
    if (would_block(ec)) {
      want = Want::read;
      return IoResult{};
    }
    IoResult r = from_error(ec, n);
    if (r.ok() && r.bytes == 0) r.status = IoStatus::eof;
    return r;
  }
  auto r = read_tls(buf, want);
  if (!wbuf_.empty()) send_buffered_now();  // what SSL_read wrote (an alert)
  return r;
}

IoResult Connection::read_tls(net::mutable_buffer buf, std::optional<Want>& want) {
  // Several records per call while OpenSSL already holds their bytes
  // (read-ahead, tls.cpp): fewer rounds through the session's machine and
  // larger writes to the other side.
  auto* const out = static_cast<char*>(buf.data());
  std::size_t total = 0;
  for (;;) {
    std::size_t got = 0;
    ERR_clear_error();
    const int rc = SSL_read_ex(ssl_, out + total, buf.size() - total, &got);
    if (rc == 1) {
      total += got;
      if (total < buf.size() && SSL_has_pending(ssl_)) continue;
      return IoResult{IoStatus::ok, total};
    }
    const int err = SSL_get_error(ssl_, rc);
    const bool wait = err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE;
    if (total > 0) {
      // Deliver what came first. An end (close_notify, an error) read in
      // the same go is kept for the next call: its bytes have left the
      // socket, so no wait would ever see it.
      if (!wait) deferred_ = std::make_unique<IoResult>(tls_failure(err));
      return IoResult{IoStatus::ok, total};
    }
    if (!wait) return tls_failure(err);
    want = err == SSL_ERROR_WANT_READ ? Want::read : Want::write;
    return IoResult{};
  }
}

error_code Connection::write_now(std::string_view data, std::size_t& done) {
  while (done < data.size()) {
    error_code ec;
    done += socket_.write_some(net::buffer(data.data() + done, data.size() - done), ec);
    if (ec) return would_block(ec) ? error_code{} : ec;
  }
  return {};
}

error_code Connection::send_buffered_now() {
  std::size_t n = 0;
  const auto failed = write_now(wbuf_.unsent(), n);
  wbuf_.sent(n);
  return failed;
}

net::awaitable<IoResult> Connection::send_buffered(SteadyTime deadline) {
  // A reader may add (an alert) or send while this waits: each pass takes
  // the buffer as it is then.
  while (!wbuf_.empty()) {
    const auto failed = send_buffered_now();
    if (failed) co_return from_error(failed, 0);
    if (wbuf_.empty()) break;
    const auto raced = co_await race(Want::write, deadline, write_timer_);
    auto r = outcome(raced, closed_);
    if (!r.ok()) co_return r;
  }
  co_return IoResult{};
}

net::awaitable<IoResult> Connection::read_some(net::mutable_buffer buf, Duration timeout) {
  // An interrupt is one-shot: the session reacts (e.g. finishes the message
  // in progress) and may read again.
  if (interrupted_) {
    interrupted_ = false;
    co_return IoResult{IoStatus::interrupted};
  }
  if (closed_) co_return IoResult{IoStatus::eof};
  if (deferred_) co_return take_deferred();
  auto deadline = deadline_after(timeout);
  reading_ = true;
  IoResult r;
  // Try first, wait only when nothing is there: a reader that keeps up with
  // its peer (DATA, a splice moving a FETCH) then arms no timer per read.
  if (++reads_without_wait_ >= kReadsBeforeYield) {
    // Reads and writes that never wait never let the thread go: a peer
    // sending fast would keep every other session on it waiting.
    reads_without_wait_ = 0;
    co_await net::post(socket_.get_executor(), net::use_awaitable);
  }
  for (;;) {
    std::optional<Want> want;
    r = read_now(buf, want);
    if (!want) break;
    reads_without_wait_ = 0;
    if (*want == Want::write) {
      // Full write buffer (a writer's records wait): send what the socket
      // takes now, then wait only if it took none.
      const auto sent = send_buffered_now();
      if (sent) {
        r = from_error(sent, 0);
        break;
      }
    }
    if (interrupted_) {  // while this yielded above: no timer was there to cancel
      r = IoResult{IoStatus::interrupted};
      break;
    }
    const auto raced = co_await race(*want, deadline, read_timer_);
    r = outcome(raced, interrupted_);
    if (!r.ok()) break;
  }
  reading_ = false;
  if (r.status == IoStatus::interrupted) interrupted_ = false;
  co_return r;
}

std::optional<IoResult> Connection::try_read_some(net::mutable_buffer buf) {
  if (interrupted_ || closed_) return std::nullopt;  // read_some reports those
  if (deferred_) return take_deferred();
  if (reads_without_wait_ + 1 >= kReadsBeforeYield) return std::nullopt;  // read_some yields first
  std::optional<Want> want;
  auto r = read_now(buf, want);
  if (want) return std::nullopt;
  ++reads_without_wait_;
  return r;
}

std::optional<IoResult> Connection::readable_now() {
  if (interrupted_) {
    interrupted_ = false;
    return IoResult{IoStatus::interrupted};
  }
  if (closed_) return IoResult{IoStatus::eof};
  // Bytes OpenSSL already holds (decrypted, or read ahead) or an end it
  // already saw need no wait.
  if (deferred_ || (tls_active_ && SSL_has_pending(ssl_))) return IoResult{};
  return std::nullopt;
}

net::awaitable<Connection::Raced> Connection::readable_wait(Duration timeout) {
  reading_ = true;
  return race(Want::read, deadline_after(timeout), read_timer_);
}

IoResult Connection::readable_result(const Raced& waited) {
  auto r = outcome(waited, interrupted_);
  reading_ = false;
  if (r.status == IoStatus::interrupted) interrupted_ = false;
  return r;
}

net::awaitable<IoResult> Connection::wait_readable(Duration timeout) {
  if (auto now = readable_now()) co_return *now;
  const auto waited = co_await readable_wait(timeout);
  co_return readable_result(waited);
}

net::awaitable<IoResult> Connection::write_all(std::string_view data, Duration timeout) {
  if (closed_ || send_closed_) co_return IoResult{IoStatus::eof};
  auto deadline = deadline_after(timeout);
  IoResult r;
  if (!tls_active_) {
    set_non_blocking();
    std::size_t done = 0;
    for (;;) {
      const auto failed = write_now(data, done);
      if (failed) {
        r = from_error(failed, done);
        break;
      }
      if (done == data.size()) break;
      const auto raced = co_await race(Want::write, deadline, write_timer_);
      r = outcome(raced, closed_);
      if (!r.ok()) break;
    }
    if (r.ok()) r.bytes = done;
  } else {
    std::size_t done = 0;
    while (done < data.size()) {
      std::size_t n = 0;
      ERR_clear_error();
      int rc = SSL_write_ex(ssl_, data.data() + done, data.size() - done, &n);
      if (rc == 1) {
        done += n;
        continue;
      }
      int err = SSL_get_error(ssl_, rc);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
        r = tls_failure(err);
        break;
      }
      // WANT_WRITE: the buffer is full; WANT_READ (nothing here asks for a
      // renegotiation, but OpenSSL may say so) waits for the peer.
      r = co_await send_buffered(deadline);
      if (r.ok() && err == SSL_ERROR_WANT_READ) {
        const auto raced = co_await race(Want::read, deadline, write_timer_);
        r = outcome(raced, closed_);
      }
      if (!r.ok()) break;
    }
    if (r.ok()) r = co_await send_buffered(deadline);  // all of it in as few writes as the socket takes
    if (r.ok()) r.bytes = done;
  }
  // A write is never "interrupted": only reads wait for the peer indefinitely.
  if (r.status == IoStatus::interrupted) r.status = IoStatus::eof;  // closed under us
  co_return r;
}

net::awaitable<IoResult> Connection::handshake(Duration timeout) {
  auto deadline = deadline_after(timeout);
  for (;;) {
    ERR_clear_error();
    int rc = SSL_do_handshake(ssl_);
    int err = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl_, rc);
    if (err != SSL_ERROR_NONE && err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
      auto r = tls_failure(err);
      if (r.status == IoStatus::eof) r.tls_error.clear();
      send_buffered_now();  // the alert, if the socket takes it: it tells the peer why
      co_return r;
    }
    // This flight (or the whole handshake's last one, tickets included).
    auto r = co_await send_buffered(deadline);
    if (r.ok() && err == SSL_ERROR_NONE) break;
    if (r.ok() && err == SSL_ERROR_WANT_READ) {
      // The read timer: nothing else reads during a handshake, and a
      // connection whose writes never wait then makes no write timer.
      const auto raced = co_await race(Want::read, deadline, read_timer_);
      r = outcome(raced, closed_);
    }
    if (!r.ok()) {
      if (r.status == IoStatus::interrupted) r.status = IoStatus::timeout;
      co_return r;
    }
  }
  tls_active_ = true;
  co_return IoResult{};
}

void Connection::set_non_blocking() {
  // Once the socket is open (an upstream's opens when it connects); Asio's
  // own operations cope with a non-blocking socket, ours need one.
  if (non_blocking_) return;
  error_code ec;
  socket_.non_blocking(true, ec);
  non_blocking_ = !ec;
}

std::optional<IoResult> Connection::attach_tls() {
  set_non_blocking();
  ssl_ = SSL_new(ctx_.native_handle());
  if (!ssl_ || !non_blocking_ || SSL_set_rfd(ssl_, static_cast<int>(socket_.native_handle())) != 1)
    return IoResult{IoStatus::error, 0, {}, "cannot set up TLS"};
  BIO* const out = wbuf_.make_bio();
  if (!out) return IoResult{IoStatus::error, 0, {}, "cannot set up TLS"};
  SSL_set0_wbio(ssl_, out);
  return std::nullopt;
}

net::awaitable<IoResult> Connection::handshake_server(Duration timeout) {
  if (closed_) co_return IoResult{IoStatus::eof};
  if (auto failed = attach_tls()) co_return *failed;
  SSL_set_accept_state(ssl_);
  co_return co_await handshake(timeout);
}

net::awaitable<IoResult> Connection::handshake_client(const std::string& verify_host, Duration timeout,
                                                      std::uint16_t port) {
  if (closed_) co_return IoResult{IoStatus::eof};
  if (auto failed = attach_tls()) co_return *failed;
  error_code not_ip;
  net::ip::make_address(verify_host, not_ip);
  // Each call may fail (memory, a name OpenSSL rejects); going on would
  // verify the chain but not whose it is, so the connection fails instead.
  bool host_set = false;
  if (not_ip) {
    // SNI carries host names only (RFC 6066), never IP literals.
    host_set = SSL_set_tlsext_host_name(ssl_, verify_host.c_str()) == 1 && SSL_set1_host(ssl_, verify_host.c_str()) == 1;
  } else {
    host_set = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), verify_host.c_str()) == 1;
  }
  if (!host_set) co_return IoResult{IoStatus::error, 0, {}, "cannot set the host name to verify: " + verify_host};
  SSL_set_verify(ssl_, SSL_VERIFY_PEER, nullptr);
  error_code ec;
  if (port == 0) port = socket_.remote_endpoint(ec).port();
  prepare_client_resumption(ssl_, verify_host + ":" + std::to_string(port));
  SSL_set_connect_state(ssl_);
  co_return co_await handshake(timeout);
}

net::awaitable<void> Connection::send_close_notify(SteadyTime deadline) {
  // Bounded; we never wait for the peer's own close_notify.
  for (int i = 0; i < 4; ++i) {
    ERR_clear_error();
    int rc = SSL_shutdown(ssl_);
    int err = rc >= 0 ? SSL_ERROR_NONE : SSL_get_error(ssl_, rc);
    if (err != SSL_ERROR_NONE && err != SSL_ERROR_WANT_WRITE && err != SSL_ERROR_WANT_READ) break;
    auto r = co_await send_buffered(deadline);
    if (!r.ok() || err == SSL_ERROR_NONE) break;
    if (err == SSL_ERROR_WANT_READ) {
      const auto raced = co_await race(Want::read, deadline, write_timer_);
      r = outcome(raced, closed_);
    }
    if (!r.ok()) break;
  }
  ERR_clear_error();
}

net::awaitable<void> Connection::close(Duration timeout) {
  if (closed_) co_return;
  if (tls_active_ && !send_closed_) co_await send_close_notify(deadline_after(timeout));
  close_now();
}

net::awaitable<void> Connection::shutdown_send(Duration timeout) {
  if (closed_ || send_closed_) co_return;
  send_closed_ = true;
  if (tls_active_) co_await send_close_notify(deadline_after(timeout));
  error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
}

void Connection::close_now() {
  if (closed_) return;
  closed_ = true;
  error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  if (read_timer_) read_timer_->cancel();
  if (write_timer_) write_timer_->cancel();
}

void Connection::interrupt() {
  interrupted_ = true;
  if (reading_ && read_timer_) read_timer_->cancel();
}

}  // namespace xr::relay
