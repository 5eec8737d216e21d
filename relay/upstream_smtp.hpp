// The relay's SMTP connection to Office 365: connect, STARTTLS with full
// certificate verification, EHLO, AUTH XOAUTH2, then commands and the message
// body. The protocol is protocols/smtp_client; this class only moves bytes.
#pragma once

#include "conf/config.hpp"
#include "protocols/smtp_client.hpp"
#include "relay/connection.hpp"
#include "relay/net/upstream_connect.hpp"

#include <memory>
#include <optional>
#include <string>

namespace xr::relay {

struct UpstreamLogin {
  enum class Status { ok, connect_failed, tls_failed, refused, temporary, protocol_error };
  Status status = Status::ok;
  smtp::Reply reply;   // the server's reply when it gave one
  std::string detail;  // for the log
  // Which leg failed: the outbound proxy (connect_failed only) or Office 365.
  Hop hop = Hop::upstream;
  int proxy_status = 0;  // the proxy's HTTP refusal (403, 407...), else 0
  // The server's reply for the log: with the decoded error challenge, when
  // the server sent one before it (" (challenge: {...})", as for IMAP/POP3).
  std::string said() const;
  std::string challenge;
};
const char* to_string(UpstreamLogin::Status);
// The outcome label of xoauth2_relay_upstream_logins_total: ok, refused or
// unavailable (everything that is not Office 365 saying no).
const char* metric_outcome(const UpstreamLogin&);

class UpstreamSmtp {
 public:
  struct Settings {
    conf::Endpoint endpoint;
    // The tenant's outbound proxy for endpoint.host (Tenant::proxy_for), or
    // null for a direct connection. A copy (the settings outlive a reload),
    // behind a pointer: callers keep Settings in coroutine frames, which
    // GCC 12 mis-sizes when they grow (-Wmismatched-new-delete).
    std::shared_ptr<const conf::EgressProxy> proxy;
    std::string helo_name;
    std::string mailbox;
    std::chrono::seconds connect_timeout{30};
    std::chrono::seconds reply_timeout{120};
    bool use_bdat = true;  // when the server offers CHUNKING

    // What a session and a spool lane both connect with: the tenant's SMTP
    // endpoint and proxy, the config's HELO name and upstream timeouts.
    static Settings for_mailbox(const conf::Config& cfg, const conf::Tenant& tenant, std::string mailbox);
  };

  UpstreamSmtp(net::any_io_executor ex, ssl::context& tls, Settings settings);

  // Connects and logs in; the token is used once and not kept.
  net::awaitable<UpstreamLogin> open(std::string token);

  // One command, its reply; nullopt when the connection failed (then
  // alive() is false and error() says why). A DATA command sent to a server
  // using BDAT gets a local 354.
  net::awaitable<std::optional<smtp::Reply>> command(const std::string& line);
  // Message bytes (unstuffed). False when the connection failed.
  net::awaitable<bool> message_data(std::string_view bytes);
  // Ends the message; the server's final reply, or nullopt on failure.
  net::awaitable<std::optional<smtp::Reply>> message_end();
  // QUIT and close, bounded; for a finished session.
  net::awaitable<void> quit();
  // Drop the connection now (a message that must not be delivered).
  void abandon();

  bool alive() const { return alive_; }
  const std::string& error() const { return error_; }
  const smtp::Capabilities& capabilities() const { return client_.capabilities(); }
  std::string peer() const;  // "host:port"
  // The outbound proxy's URL (safe to log), or "-" for a direct connection.
  std::string proxy_url() const { return settings_.proxy ? settings_.proxy->url : "-"; }
  std::uint64_t bytes_sent() const { return bytes_sent_; }
  bool tls_resumed() const { return conn_.tls_resumed(); }

 private:
  net::awaitable<bool> flush(bool message_bytes = false);
  // Drives the client machine until it yields something other than need_input.
  net::awaitable<smtp::ClientEventKind> step();
  net::awaitable<bool> send_bdat_chunk(bool last);
  void fail(std::string why);

  Settings settings_;
  Connection conn_;
  smtp::Client client_;
  bool alive_ = false;
  bool bdat_mode_ = false;     // this message goes by BDAT
  std::string bdat_buffer_;    // bytes of the next BDAT chunk
  std::optional<smtp::Reply> bdat_failure_;  // a chunk was refused: the message failed
  std::string error_;
  std::uint64_t bytes_sent_ = 0;
};

}  // namespace xr::relay
