// The relay's side of the upstream (Office 365) POP3 session, up to the
// login, sans-IO: greeting, CAPA (RFC 2449) to see SASL XOAUTH2, then
// AUTH XOAUTH2 in the two-step form (RFC 5034 limits the AUTH line to 255
// octets; tokens are longer), the error challenge answered with an empty
// line. Implicit TLS: the shell has completed the handshake first.
#pragma once

#include "protocols/login_client.hpp"

#include <string>
#include <string_view>

namespace xr::pop3 {

using ClientOptions = LoginClientOptions;

class Client : public LoginClient {
 public:
  Client(ClientOptions opts, std::string token);
  // Ends a logged-in session politely (for checks that only log in).
  static constexpr std::string_view kLogout = "QUIT\r\n";

 private:
  enum class State { greeting, capa_status, capa_lines, auth_start, auth_result };
  ClientEvent on_line(const std::string& line) override;
  ClientEvent start_auth();

  State state_ = State::greeting;
  bool sasl_listed_ = false;   // CAPA had a SASL line
  bool xoauth2_listed_ = false;
};

}  // namespace xr::pop3
