// The device-facing IMAP server (RFC 3501) up to a successful login, sans-IO:
// CAPABILITY, NOOP, LOGOUT, ID, STARTTLS, LOGIN and AUTHENTICATE PLAIN (SASL-IR
// and continuation). Arguments may be atoms, quoted strings or literals,
// synchronizing or not (LITERAL+). After the login the relay splices bytes
// and this machine is done. Never throws on bad input; holds at most one
// command (line limit + literal limit) in memory.
#pragma once

#include "protocols/imap_command.hpp"
#include "protocols/login_machine.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace xr::imap {

// What a device hears, in the clear, when the relay already serves max_sessions.
inline constexpr std::string_view kTooManyConnections = "* BYE [UNAVAILABLE] Too many connections, try again later";
// A source or user name the brute-force throttle blocks: then the session ends.
inline constexpr std::string_view kTooManyFailedLogins = "* BYE [UNAVAILABLE] Too many failed logins, try again later";

// What a client hears when the relay shuts down, in the login phase or
// (written by the relay) after the grace period of a relayed session.
inline constexpr std::string_view kShutdownNotice = "* BYE [UNAVAILABLE] Server shutting down";

// Without allow_plaintext_auth, LOGINDISABLED before TLS; max_line_length
// is one line of a command, without its literals.
struct ServerOptions : LoginServerOptions {
  std::size_t max_literal_size = 8192;  // LOGIN/AUTHENTICATE arguments only (pre-auth)
};

using EventKind = LoginEvent;
using AuthOutcome = LoginOutcome;

class Server : public LoginMachine {
 public:
  explicit Server(ServerOptions opts);

  void start();     // queues the greeting
  void timeout();   // "* BYE Autologout; idle for too long" + close
  EventKind next();
  // ok: `data` = upstream's post-login capabilities, sent as [CAPABILITY data];
  // unavailable: `data` = the text after [UNAVAILABLE].
  void complete_auth(AuthOutcome outcome, std::string data = {});

 private:
  enum class Reading { commands, literal, sasl_response };
  std::string capabilities() const;
  EventKind bad(const std::string& tag, std::string_view text);
  EventKind on_line(std::string& line);
  EventKind dispatch();
  EventKind login(const Command& cmd, const RawCommand& raw);
  EventKind authenticate(const Command& cmd, const RawCommand& raw);
  EventKind sasl_plain(std::string_view base64);
  EventKind refused(std::string_view text);

  ServerOptions opts_;
  Reading reading_ = Reading::commands;
  RawCommand raw_;                 // the command being assembled
  std::size_t literal_left_ = 0;   // bytes of the current literal still to come
  std::string tag_;                // of the command waiting for completion or a SASL response
};

}  // namespace xr::imap
