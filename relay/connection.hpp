// One TCP connection that may be upgraded to TLS (STARTTLS) or start in TLS,
// with every operation bounded by a timeout. Expected failures (EOF, reset,
// timeout, TLS errors) come back as values; nothing here throws for I/O.
#pragma once

#include "relay/asio.hpp"

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace xr::relay {

enum class IoStatus { ok, eof, error, timeout, interrupted };
const char* to_string(IoStatus);

struct IoResult {
  IoStatus status = IoStatus::ok;
  std::size_t bytes = 0;
  boost::system::error_code ec;
  bool ok() const { return status == IoStatus::ok; }
  std::string describe() const;  // "timeout", "eof", "error: Connection reset by peer"
};

class Connection {
 public:
  using Duration = std::chrono::steady_clock::duration;

  Connection(tcp::socket socket, ssl::context& ctx);

  tcp::socket& socket() { return tls_.next_layer(); }
  bool tls_active() const { return tls_active_; }
  std::string tls_description() const;  // "TLSv1.3 TLS_AES_256_GCM_SHA384"

  net::awaitable<IoResult> read_some(net::mutable_buffer buf, Duration timeout);
  net::awaitable<IoResult> write_all(std::string_view data, Duration timeout);
  // Server or client handshake. For clients, `sni_host` sets SNI (skipped for
  // IP literals) and the name the certificate must match.
  net::awaitable<IoResult> handshake_server(Duration timeout);
  net::awaitable<IoResult> handshake_client(const std::string& verify_host, Duration timeout);
  // TLS close_notify (bounded) then TCP close. Safe to call twice.
  net::awaitable<void> close(Duration timeout);
  void close_now();
  // No more bytes from us (TCP half-close); plain connections only.
  void shutdown_send();

  // Wakes a pending read_some with IoStatus::interrupted (shutdown, or the
  // splice re-arming its deadline). Only a read waits for the peer
  // indefinitely; writes and handshakes finish normally.
  void interrupt();
  bool interrupted() const { return interrupted_; }

 private:
  ssl::stream<tcp::socket> tls_;
  // Reads and writes have their own timers so one read and one write may be
  // in flight together (the splice does that); handshakes and close use the
  // write timer.
  net::steady_timer read_timer_;
  net::steady_timer write_timer_;
  bool tls_active_ = false;
  bool closed_ = false;
  bool interrupted_ = false;
  bool reading_ = false;
};

}  // namespace xr::relay
