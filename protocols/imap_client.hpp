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

}  // namespace xr::imap
