// What the upstream IMAP and POP3 clients share: they log in to Office 365
// with SASL XOAUTH2 and stop there; the relay then splices bytes.
//
// The shell writes take_output() (it holds the token: wipe it after writing,
// never log it), reads the server's bytes and feeds them, and asks next()
// again until logged_in or failed.
#pragma once

#include "protocols/line_reader.hpp"

#include <string>
#include <string_view>

namespace xr {

enum class ClientEvent {
  need_input,  // write take_output(), then feed() the server's bytes (or eof())
  logged_in,   // capabilities() hold what the server offers after login
  failed,      // failure() and failure_text() say why; close the connection
};

enum class LoginFailure {
  none,
  greeting_refused,  // the server turned us away before we said anything
  no_xoauth2,        // the server does not offer XOAUTH2
  auth_refused,      // the server said no to the token
  temporary,         // the server said "not now": busy mailbox, throttling, server trouble
  protocol_error,    // unexpected or unparseable answer, or the connection closed
};
const char* to_string(LoginFailure f);

// Whether the text of a refused login (after IMAP's "NO " or POP3's "-ERR ")
// means "not now" rather than "not this token": the response codes for that
// (IMAP, RFC 5530: UNAVAILABLE, LIMIT, INUSE, SERVERBUG; POP3, RFC 2449 and
// 3206: IN-USE, SYS/TEMP, LOGIN-DELAY) and Exchange's "Request is throttled".
// Dovecot, for one, refuses a mailbox's connection beyond its limit with
// `NO [LIMIT]` / `-ERR [IN-USE]` in answer to the AUTHENTICATE.
bool temporary_refusal(std::string_view text);

struct LoginClientOptions {
  std::string mailbox;  // XOAUTH2 user=
};

class LoginClient {
 public:
  LoginClient(const LoginClient&) = delete;
  LoginClient& operator=(const LoginClient&) = delete;

  ClientEvent next();
  // What the server offers (IMAP: CAPABILITY as sent; POP3: the CAPA lines,
  // space-joined); after logged_in, the post-login set.
  const std::string& capabilities() const { return caps_; }
  void feed(std::string_view bytes) { in_.feed(bytes); }
  void eof() { eof_ = true; }
  std::string take_output();  // may hold the token
  LoginFailure failure() const { return failure_; }
  // The server's words that ended the login (never the token); decoded when
  // the server sent a base64 error challenge.
  const std::string& failure_text() const { return failure_text_; }
  std::string take_leftover() { return in_.take_rest(); }  // server bytes after the login reply

 protected:
  LoginClient(std::string mailbox, std::string token);
  virtual ~LoginClient();
  // One complete server line; need_input to read on.
  virtual ClientEvent on_line(const std::string& line) = 0;
  ClientEvent logged_in();

  void send(std::string_view line);
  // The XOAUTH2 response, built once, then the token is wiped.
  std::string take_response();
  ClientEvent fail(LoginFailure why, std::string_view text);
  // "+ <base64>" after our response: the error challenge; its decoded text
  // (when printable) is kept for the failure.
  void note_challenge(std::string_view base64);

  std::string caps_;

 private:
  bool done_ = false;  // logged_in or failed: next() repeats the answer
  ClientEvent last_ = ClientEvent::need_input;
  LineReader in_;
  std::string out_;
  std::string mailbox_;
  std::string token_;
  bool eof_ = false;
  LoginFailure failure_ = LoginFailure::none;
  std::string failure_text_;
  std::string challenge_;
};

}  // namespace xr
