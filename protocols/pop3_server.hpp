// The device-facing POP3 server (RFC 1939) up to a successful login, sans-IO:
// CAPA (RFC 2449), STLS (RFC 2595), USER/PASS, AUTH PLAIN with an initial
// response or the "+ " continuation (RFC 5034), QUIT. Replies carry RFC 3206
// response codes ([AUTH], [SYS/TEMP]) so clients can tell a wrong password
// from a temporary failure. After the login the relay splices bytes.
#pragma once

#include "protocols/login_machine.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace xr::pop3 {

// What a device hears, in the clear, when the relay already serves max_sessions.
inline constexpr std::string_view kTooManyConnections = "-ERR [SYS/TEMP] Too many connections, try again later";
// A source or user name the brute-force throttle blocks: then the session ends.
inline constexpr std::string_view kTooManyFailedLogins = "-ERR [SYS/TEMP] Too many failed logins, try again later";

// What a client hears when the relay shuts down, in the login phase or
// (written by the relay) after the grace period of a relayed session.
inline constexpr std::string_view kShutdownNotice = "-ERR [SYS/TEMP] Server shutting down";

// RFC 5034 asks for command lines of at least 255 octets; AUTH lines are longer.
using ServerOptions = LoginServerOptions;

using EventKind = LoginEvent;
using AuthOutcome = LoginOutcome;

class Server : public LoginMachine {
 public:
  explicit Server(ServerOptions opts);

  void start();    // queues the greeting
  void timeout();  // "-ERR Autologout; idle for too long" + close
  EventKind next();
  // ok: the device hears "+OK Logged in"; unavailable: `data` = the reason.
  void complete_auth(AuthOutcome outcome, std::string data = {});

 private:
  EventKind bad(std::string_view text);
  EventKind refused(std::string_view text);
  EventKind on_line(std::string& line);
  EventKind capa();
  EventKind user_command(std::string_view arg);
  EventKind pass_command(std::string_view arg);
  EventKind auth(std::string_view args);
  EventKind sasl_plain(std::string_view base64);

  ServerOptions opts_;
  bool awaiting_sasl_ = false;  // "+ " sent; the next line is the AUTH PLAIN response
  std::string pending_user_;    // from USER, until PASS
};

}  // namespace xr::pop3
