// The relay's side of the upstream (Office 365) SMTP session, sans-IO:
// greeting, EHLO, STARTTLS, EHLO again, AUTH XOAUTH2, then one command at a
// time and the message body, dot-stuffed (DATA) or in chunks (BDAT).
//
// The shell reads bytes from the upstream connection and feeds them; the
// machine says what to write and when to start TLS.
#pragma once

#include "protocols/smtp_reply.hpp"
#include "protocols/xoauth2.hpp"

#include <cstddef>
#include <memory>
#include <set>
#include <string>
#include <string_view>

namespace xr::smtp {

// What the upstream EHLO reply advertised.
struct Capabilities {
  bool starttls = false;
  bool pipelining = false;
  bool chunking = false;
  bool smtputf8 = false;
  bool eightbitmime = false;
  bool enhanced_status_codes = false;
  std::size_t size = 0;  // 0: no SIZE limit advertised
  std::set<std::string> auth;  // upper-case mechanism names
  static Capabilities parse(const Reply& ehlo_reply);
};

struct ClientOptions {
  std::string helo_name;     // our EHLO name
  std::string mailbox;       // XOAUTH2 user=
  bool implicit_tls = false; // TLS already up when the greeting arrives
  std::size_t max_line = 512;  // command line limit: longer AUTH goes two-step (RFC 4954)
};

enum class ClientEventKind {
  need_input,  // write output() if not empty, then feed() the server's bytes
  start_tls,   // write output() (empty), handshake, then tls_started()
  logged_in,   // 235 received; capabilities() are the post-TLS ones
  failed,      // the session cannot continue: failure() says why; close it
  reply,       // reply to the last command(); see last_reply()
};

enum class ClientFailure {
  none,
  greeting_refused,   // non-220 greeting
  no_starttls,        // server did not offer STARTTLS (we never send tokens in the clear)
  no_xoauth2,         // server did not offer AUTH XOAUTH2
  auth_refused,       // 535 etc. after XOAUTH2
  protocol_error,     // unparseable reply / unexpected code
};
const char* to_string(ClientFailure);

using xr::xoauth2_initial_response;

class Client {
 public:
  explicit Client(ClientOptions opts);
  ~Client();
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;

  // The token is used for one AUTH and then wiped from the machine.
  void set_token(std::string token);

  void feed(std::string_view bytes);
  ClientEventKind next();
  std::string& output() { return out_; }  // may hold the token: never log
  void tls_started();

  // After logged_in: one command at a time ("MAIL FROM:<a@b> SIZE=12").
  void command(std::string_view line);
  // DATA: after the 354 reply, stream unstuffed bytes, then finish. The
  // encoder dot-stuffs and appends the terminator; next() then yields the
  // final reply.
  void message_data(std::string_view unstuffed);
  void message_end();
  // BDAT (when capabilities().chunking): one chunk per call; `last` ends the
  // message. Each chunk yields a reply.
  void bdat(std::string_view chunk, bool last);

  const Capabilities& capabilities() const;
  const Reply& last_reply() const;  // the latest complete reply (also for failed)
  ClientFailure failure() const;
  // After auth_refused: the decoded error challenge the server sent before
  // its final reply (Google, Dovecot), or empty (Exchange sends none).
  const std::string& challenge() const;

 private:
  std::string out_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace xr::smtp
