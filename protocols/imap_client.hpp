// The relay's side of the upstream (Office 365) IMAP session, up to the
// login, sans-IO: greeting, CAPABILITY (unless the greeting carried it),
// AUTHENTICATE XOAUTH2 with SASL-IR when offered (RFC 4959) or the "+"
// continuation, the error challenge (answered with an empty line), and the
// post-login capabilities, from the tagged OK's code or a CAPABILITY command.
// Implicit TLS: the shell has completed the handshake before feeding bytes.
#pragma once

#include "protocols/login_client.hpp"

#include <string>
#include <string_view>

namespace xr::imap {

using ClientOptions = LoginClientOptions;

class Client : public LoginClient {
 public:
  Client(ClientOptions opts, std::string token);
  // Ends a logged-in session politely (for checks that only log in).
  static constexpr std::string_view kLogout = "xr9 LOGOUT\r\n";

 private:
  enum class State { greeting, capability, authenticate, continuation, auth_result, post_capability };
  ClientEvent on_line(const std::string& line) override;
  ClientEvent on_tagged(std::string_view tag, std::string_view status, std::string_view text);
  void authenticate();
  bool has_cap(std::string_view cap) const;

  State state_ = State::greeting;
};

// `doctor`'s look into the mailbox after the login: EXAMINE INBOX (read-only,
// changes nothing). Exchange accepts an XOAUTH2 login for a mailbox the app
// has no FullAccess on and refuses only when a mailbox is opened, with
// "BAD User is authenticated but not connected."; a login-only probe would
// call that mailbox fine. Sans-IO: the shell writes kCommand, then feeds the
// server's bytes (first any left over from the login) until a result.
class ExamineProbe {
 public:
  static constexpr std::string_view kCommand = "xr4 EXAMINE INBOX\r\n";
  enum class Result { need_input, ok, refused, failed };

  ExamineProbe();
  Result feed(std::string_view bytes);
  Result eof();  // the connection closed
  // The tagged reply without its tag ("BAD User is authenticated but not
  // connected."), or what ended the probe ("connection closed", "* BYE ...").
  const std::string& said() const { return said_; }
  // Exchange's words for a login whose app has no FullAccess on the mailbox.
  bool not_connected() const;

 private:
  LineReader in_;
  Result result_ = Result::need_input;
  std::string said_;
};

}  // namespace xr::imap
