// One TCP connection that may be upgraded to TLS (STARTTLS) or start in TLS,
// with every operation bounded by a timeout. Expected failures (EOF, reset,
// timeout, TLS errors) come back as values; nothing here throws for I/O.
//
// TLS runs OpenSSL directly on the non-blocking socket (it reads the socket;
// its records go out through TlsWriteBuffer) rather than through
// asio::ssl::stream: that stream keeps ~68 KiB of buffers per
// connection for its life, while an OpenSSL connection with
// SSL_MODE_RELEASE_BUFFERS holds a few KiB when idle. Long IMAP sessions are
// mostly idle, so this is most of a session's memory.
#pragma once

#include "relay/asio.hpp"
#include "relay/net/tls_write_buffer.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

struct ssl_st;

namespace xr::relay {

enum class IoStatus { ok, eof, error, timeout, interrupted };
const char* to_string(IoStatus);

struct IoResult {
  IoStatus status = IoStatus::ok;
  std::size_t bytes = 0;
  boost::system::error_code ec;
  std::string tls_error;  // OpenSSL's reason for a TLS failure
  bool ok() const { return status == IoStatus::ok; }
  std::string describe() const;  // "timeout", "eof", "error: Connection reset by peer"
};

class Connection {
 public:
  using Duration = std::chrono::steady_clock::duration;

  Connection(tcp::socket socket, ssl::context& ctx);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  tcp::socket& socket() { return socket_; }
  bool tls_active() const { return tls_active_; }
  std::string tls_description() const;  // "TLSv1.3 TLS_AES_256_GCM_SHA384"
  bool tls_resumed() const;             // the handshake resumed an earlier session

  net::awaitable<IoResult> read_some(net::mutable_buffer buf, Duration timeout);
  // What read_some would return at once, or nullopt if it would have to
  // wait (or was interrupted): lets a busy reader go on without a wait and
  // an idle one go back to waiting for readability without holding its
  // buffer.
  std::optional<IoResult> try_read_some(net::mutable_buffer buf);
  net::awaitable<IoResult> write_all(std::string_view data, Duration timeout);
  // Waiting until read_some would return data (or EOF/error) without
  // waiting, so an idle reader holds no buffer. In three parts, so that the
  // caller waits in its own frame (an idle session's waits are the relay's
  // most numerous frames): readable_now() is the answer when no wait is
  // needed (interrupted, closed, bytes OpenSSL holds), else nullopt; then
  // co_await readable_wait(timeout) and hand its result to readable_result().
  using Raced = std::tuple<std::array<std::size_t, 2>, boost::system::error_code, boost::system::error_code>;
  std::optional<IoResult> readable_now();
  net::awaitable<Raced> readable_wait(Duration timeout);
  IoResult readable_result(const Raced& waited);
  net::awaitable<IoResult> wait_readable(Duration timeout);  // the three in a coroutine of its own
  // Server or client handshake. For clients, `verify_host` sets SNI (skipped
  // for IP literals) and the name the certificate must match; `port` is the
  // server's, for the TLS session cache (0: the socket's peer port, which is
  // the proxy's when the socket is an HTTP CONNECT tunnel).
  net::awaitable<IoResult> handshake_server(Duration timeout);
  net::awaitable<IoResult> handshake_client(const std::string& verify_host, Duration timeout,
                                            std::uint16_t port = 0);
  // TLS close_notify (bounded) then TCP close. Safe to call twice.
  net::awaitable<void> close(Duration timeout);
  // Half-close: TLS close_notify (bounded) and TCP FIN; reading goes on.
  net::awaitable<void> shutdown_send(Duration timeout);
  void close_now();

  // Wakes a pending read_some/readable_wait with IoStatus::interrupted
  // (shutdown, or the splice ending). One-shot. Only reads wait for the peer
  // indefinitely; writes and handshakes finish normally.
  void interrupt();
  bool interrupted() const { return interrupted_; }

 private:
  enum class Want { read, write };
  // A wait for the socket against `timer` set to `deadline` (connection.cpp
  // says why it is not a coroutine); outcome() turns its result into an
  // IoResult, `interrupted` telling a woken wait from a timeout.
  net::awaitable<Raced> race(Want want, std::chrono::steady_clock::time_point deadline,
                             std::unique_ptr<net::steady_timer>& timer);
  static IoResult outcome(const Raced& raced, bool interrupted);
  net::awaitable<IoResult> handshake(Duration timeout);
  // One non-blocking read; `want` says what to wait for when nothing came.
  IoResult read_now(net::mutable_buffer buf, std::optional<Want>& want);
  IoResult read_tls(net::mutable_buffer buf, std::optional<Want>& want);  // read_now's TLS part
  // Writes data[done..] until done or the socket is full; a real error.
  boost::system::error_code write_now(std::string_view data, std::size_t& done);
  net::awaitable<void> send_close_notify(std::chrono::steady_clock::time_point deadline);
  IoResult tls_failure(int ssl_error);
  IoResult take_deferred();  // and forgets it
  std::optional<IoResult> attach_tls();  // a new SSL on the non-blocking socket
  void set_non_blocking();
  // The records OpenSSL wrote into wbuf_, onto the socket: all of them
  // (waiting for room, bounded by the deadline), or what it takes now.
  net::awaitable<IoResult> send_buffered(std::chrono::steady_clock::time_point deadline);
  boost::system::error_code send_buffered_now();

  tcp::socket socket_;
  ssl::context& ctx_;
  TlsWriteBuffer wbuf_;  // before ssl_: its BIO points here
  ssl_st* ssl_ = nullptr;
  // Reads and writes have their own timers so one read and one write may be
  // in flight together (the splice does that); a handshake's reads use the
  // read timer, close_notify the write timer. Each is made at its first
  // wait: most connections' writes never wait, and an idle session then
  // holds no write timer (120 bytes each).
  std::unique_ptr<net::steady_timer> read_timer_;
  std::unique_ptr<net::steady_timer> write_timer_;
  bool tls_active_ = false;
  bool closed_ = false;
  bool send_closed_ = false;  // shutdown_send() done
  bool interrupted_ = false;
  bool reading_ = false;
  bool non_blocking_ = false;
  int reads_without_wait_ = 0;  // see kReadsBeforeYield
  // An end (EOF, TLS error) met while read_some had data to deliver.
  std::unique_ptr<IoResult> deferred_;  // rare: held apart from every connection
};

}  // namespace xr::relay
