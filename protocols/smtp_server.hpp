// The device-facing SMTP server as a sans-IO state machine.
//
// The shell feeds bytes as they arrive and pulls events with next(). Events
// either ask for I/O (read more, start TLS, close) or ask the shell to do
// something the machine cannot (check a login, run a command upstream, stream
// message bytes upstream); the shell answers with the matching complete_*()
// call. Replies to the client accumulate in output(): the shell writes them out
// whenever next() returns need_input, start_tls, close, or any event that may
// take time (authenticate, upstream_command, message_end).
//
// Pipelining: input after a command waiting for completion stays buffered and
// is processed after the completion. Input after STARTTLS is discarded.
//
// Contract: call next() only after handling the previous event, i.e. after
// the matching complete_auth() / complete_command() / tls_started() for the
// events that need one. Calling next() while a completion is still owed is a
// shell bug: the machine then answers "421 4.3.0" and closes, rather than
// guessing the missing result (unless timeout()/eof() came first: then it
// just closes). Completion calls that nothing waits for are ignored.
// The machine never throws on bad input and never buffers more than about
// one command line (plus whatever one feed() brings).
#pragma once

#include "protocols/smtp_reply.hpp"

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace xr::smtp {

// What a device hears, in the clear, when the relay already serves max_sessions.
inline constexpr std::string_view kTooManyConnections = "421 4.3.2 Too many connections, try again later";
// A source or user name the brute-force throttle blocks: then the session ends.
inline constexpr std::string_view kTooManyFailedLogins = "421 4.7.0 Too many failed logins, try again later";

struct ServerOptions {
  std::string hostname = "localhost";
  bool starttls_offered = false;      // listener tls: starttls
  bool tls_active = false;            // implicit TLS: true from the start
  bool allow_plaintext_auth = false;  // offer AUTH before TLS
  bool auth_required = true;          // false when the source matched a no_auth rule
  std::size_t max_message_size = 35 * 1024 * 1024;
  std::size_t max_line_length = 4096;  // command and AUTH lines (without CRLF): longer = 500 5.5.2;
                                       // message lines are bounded only by max_message_size (552)
};

enum class EventKind {
  need_input,      // write output(), then feed() more bytes (or eof())
  start_tls,       // write output() (the 220), then handshake, then tls_started()
  authenticate,    // check auth_user()/auth_password(); then complete_auth()
  upstream_command,// run command() upstream; then complete_command(reply)
  message_data,    // stream data() (unstuffed message bytes) upstream; no completion needed
  message_end,     // the message is complete; finish it upstream, then complete_command(reply)
  message_abort,   // the message will not complete (size limit, bare CR, timeout, EOF): abandon it upstream;
                   // data up to the size limit or the bare CR may have been streamed before it
  close,           // write output(), then close the connection
};

enum class CommandKind { mail, rcpt, data, rset, quit, noop };

struct Command {
  CommandKind kind = CommandKind::noop;
  std::string address;  // MAIL/RCPT path without <>, "" for the null sender
  std::string params;   // ESMTP parameters as sent (validated), e.g. "SIZE=123 BODY=8BITMIME"
  std::string line;     // the command line as it should go upstream, without CRLF
};

enum class AuthOutcome {
  ok,              // 235 2.7.0
  bad_credentials, // 535 5.7.8 (local check failed)
  upstream_refused,// 535 5.7.3 (Office 365 refused our XOAUTH2 login)
  temporary,       // 454 4.7.0 (token or upstream unavailable)
};

class Server {
 public:
  explicit Server(ServerOptions opts);
  ~Server();
  Server(Server&&) noexcept;
  Server& operator=(Server&&) noexcept;

  // Queues the greeting. Call once, before the first next().
  void start();

  void feed(std::string_view bytes);
  void eof();  // the client closed its side
  EventKind next();

  std::string& output() { return out_; }

  // authenticate
  const std::string& auth_user() const { return auth_user_; }
  const std::string& auth_password() const { return auth_password_; }  // secret: never log
  const std::string& auth_mechanism() const { return auth_mech_; }
  // `temporary_text` replaces the default text of a `temporary` outcome
  // ("4.7.0 ..." after the 454), e.g. to say the mailbox is busy.
  void complete_auth(AuthOutcome outcome, std::string_view temporary_text = {});

  // upstream_command / message_end
  const Command& command() const { return command_; }
  void complete_command(const Reply& reply);

  // message_data: bytes valid until the next call into the machine
  std::string_view data() const { return data_view_; }

  void tls_started();  // after start_tls succeeded: state resets as RFC 3207 says

  // Timeouts are the shell's: it calls this and then follows the events
  // (421 4.4.2 + close).
  void timeout();
  // Server shutting down: 421 4.3.2 + close at the next opportunity.
  void shutdown();
  // The same with another 421 line (e.g. "421 4.7.0 ..." when a reload took
  // the session's access away). The first reason given is the one sent.
  void shutdown(std::string_view reply_line);

  bool tls_active() const;
  bool authenticated() const;
  std::size_t messages_accepted() const;
  // Bare LFs made CRLF in the message being received (valid at message_end
  // and message_abort, until the completion).
  std::size_t message_bare_lf() const;
  // The message being received holds a bare CR (a CR not followed by LF):
  // it is refused (550 5.5.2) and message_abort comes first, so the shell
  // abandons it upstream. Valid at message_abort.
  bool message_bare_cr() const;
  const std::string& helo_name() const;

  // Device mistakes the shell logs with a hint (they look like success on
  // the wire otherwise: the device just gives up).
  // AUTH refused with 538 5.7.11 because TLS was not active yet (how many).
  std::size_t auth_refused_without_tls() const;
  // The latest EHLO reply offered no AUTH although this session must log
  // in and has not: a device that leaves now could not have logged in (it
  // needed STARTTLS first, or the listener's allow_plaintext_auth).
  bool auth_not_offered() const;

 private:
  std::string out_;
  std::string auth_user_, auth_password_, auth_mech_;
  Command command_;
  std::string_view data_view_;
  // opaque implementation (pimpl keeps the header stable for the shell)
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace xr::smtp
