// What the device-facing IMAP and POP3 machines share: they run a session
// only up to a successful login, after which the relay splices bytes.
//
// The shell feeds bytes and pulls events with next(); replies accumulate in
// take_output(), which the shell writes before waiting on anything. Input
// after a command that waits for a completion stays buffered; input after
// STARTTLS/STLS is discarded (command injection, RFC 3207 / CVE-2011-0411).
#pragma once

#include "protocols/line_reader.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace xr {

enum class LoginEvent {
  need_input,    // write take_output(), then feed() more bytes (or eof()/timeout())
  start_tls,     // write take_output() (the OK), handshake, then tls_started()
  authenticate,  // check user()/password(); then complete_auth()
  logged_in,     // write take_output(); splice, sending take_leftover() upstream first
  close,         // write take_output(), then close
};

enum class LoginOutcome {
  ok,                // upstream login done
  bad_credentials,   // our own check failed
  upstream_refused,  // Office 365 said no to the XOAUTH2 login
  unavailable,       // temporary: token, connection, mailbox slots
};

struct LoginServerOptions {
  std::string greeting = "xoauth2-relay ready";
  bool starttls_offered = false;      // listener tls: starttls
  bool tls_active = false;            // implicit TLS: true from the start
  bool allow_plaintext_auth = false;  // else no logins before TLS
  std::size_t max_line_length = 8192;  // a command line; AUTH lines can be long
};

class LoginMachine {
 public:
  LoginMachine(const LoginMachine&) = delete;
  LoginMachine& operator=(const LoginMachine&) = delete;

  void feed(std::string_view bytes);
  void eof() { eof_ = true; }
  void shutdown() { shutdown_ = true; }
  std::string take_output();
  std::string take_leftover();  // after logged_in: device bytes already received
  void tls_started();
  bool tls_active() const { return tls_; }
  // Logins refused because TLS was not active yet (LOGIN/USER before
  // STARTTLS/STLS, where plaintext logins are not allowed): a device
  // mistake the shell logs with the fix.
  std::size_t logins_refused_without_tls() const { return refused_without_tls_; }

  const std::string& user() const { return user_; }
  const std::string& password() const { return password_; }  // secret: never log
  const std::string& mechanism() const { return mechanism_; }

 protected:
  explicit LoginMachine(const LoginServerOptions& opts);
  ~LoginMachine();

  enum class Phase { commands, waiting_tls, waiting_auth, logged_in, closed };

  bool logins_allowed() const { return tls_ || allow_plaintext_auth_; }
  void count_refused_without_tls() { ++refused_without_tls_; }
  bool tls_offered() const { return starttls_offered_ && !tls_; }
  void reply(std::string_view line);
  LoginEvent close_with(std::string_view line);
  // The event owed before any more input is read; need_input when commands
  // may be read.
  LoginEvent settled() const;
  bool reading() const { return phase_ == Phase::commands && !shutdown_; }
  LoginEvent input_ended();  // no complete line and nothing more to come?
  LoginEvent begin_tls();
  LoginEvent begin_auth(std::string user, std::string password, const char* mechanism);
  // Common start of complete_auth(): false when no login was pending.
  bool end_auth();
  // Counts a refused login: closes with `bye` after too many.
  LoginEvent login_refused(std::string_view line, std::string_view bye);
  // Counts an invalid command: closes with `bye` after too many.
  LoginEvent invalid(std::string_view line, std::string_view bye);

  LineReader in_;
  Phase phase_ = Phase::commands;
  bool tls_ = false;
  bool eof_ = false;
  bool shutdown_ = false;

 private:
  bool starttls_offered_;
  bool allow_plaintext_auth_;
  std::string out_;
  std::string leftover_;
  std::string user_, password_, mechanism_;
  int bad_commands_ = 0;
  int auth_failures_ = 0;
  std::size_t refused_without_tls_ = 0;
};

}  // namespace xr
