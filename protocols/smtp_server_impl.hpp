// Internal to the Server machine (smtp_server*.cpp): its state and the
// per-command handlers, split over files by topic. Not an interface.
#pragma once

#include "protocols/dot_stuffing.hpp"
#include "protocols/secret.hpp"
#include "protocols/smtp_server.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace xr::smtp {

bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view s, std::string_view prefix);

struct Server::Impl {
  explicit Impl(ServerOptions o) : opts(std::move(o)), tls_active(opts.tls_active) {}

  using Handled = std::optional<EventKind>;  // nullopt: reply queued, go on with the next line

  // What complete_*() / tls_started() the machine is waiting for.
  enum class Pending { none, auth, command, message_end, tls };
  enum class Greeting { none, helo, ehlo };
  enum class AuthStep { none, plain, login_user, login_password };

  ServerOptions opts;
  std::string in;  // unprocessed input
  bool discarding_line = false;  // inside an overlong line: drop up to its LF

  Greeting greeting = Greeting::none;
  std::string helo_name;
  bool tls_active;
  bool authenticated = false;
  AuthStep auth_step = AuthStep::none;
  std::string login_user;  // AUTH LOGIN: the user while the password is asked for
  int auth_failures = 0;
  std::size_t auth_without_tls = 0;  // 538 5.7.11 replies
  bool ehlo_without_auth = false;    // the latest EHLO reply lacked AUTH
  int errors = 0;

  bool mail_open = false;  // MAIL got a 2xx upstream: a transaction is open
  bool mail_smtputf8 = false;
  std::size_t recipients = 0;
  bool pending_smtputf8 = false;

  bool in_data = false;
  DotDecoder decoder;
  std::size_t message_size = 0;
  bool message_aborted = false;
  bool bare_cr = false;  // the message holds a bare CR: refused at its end
  bool abort_next = false;  // the data up to the limit went out; message_abort comes next
  bool message_done = false;  // terminator seen, message_end not yet emitted
  std::string data_buf;
  std::size_t accepted = 0;

  Pending pending = Pending::none;
  std::string ehlo_after_rset;  // EHLO/HELO in a transaction: its reply, sent once the RSET is done

  bool closed = false, got_eof = false, timed_out = false, shutting_down = false;
  std::string shutdown_reply = "421 4.3.2 Service shutting down";  // see Server::shutdown(reply_line)

  // smtp_server.cpp
  EventKind next(Server& s);
  std::optional<EventKind> data_step(Server& s);
  enum class Take { line, need_input, refused };
  Take take_line(Server& s, std::string& line);
  void refuse_long_line(Server& s);
  Handled handle_line(Server& s, std::string& line);
  Handled handle_command(Server& s, std::string_view verb, std::string_view args);
  Handled on_hello(Server& s, std::string_view args, bool extended);
  Handled on_starttls(Server& s, std::string_view args);
  Handled on_rset(Server& s, std::string_view args);
  void reply(Server& s, std::string_view line);
  void fail(Server& s, std::string_view line);  // a bad command: counts towards the error limit
  void reset_transaction();
  std::string ehlo_reply() const;

  // smtp_server_auth.cpp
  Handled on_auth(Server& s, std::string_view args);
  Handled on_auth_response(Server& s, std::string_view line);
  Handled finish_plain(Server& s, std::string& payload);
  Handled begin_authenticate(Server& s, std::string_view mech, std::string user, std::string password);
  void auth_failed(Server& s, std::string_view line);
  void complete_auth(Server& s, AuthOutcome outcome, std::string_view temporary_text);

  // smtp_server_mail.cpp
  Handled on_mail(Server& s, std::string_view args);
  Handled on_rcpt(Server& s, std::string_view args);
  Handled on_data(Server& s, std::string_view args);
  void complete_command(Server& s, const Reply& reply);
};

}  // namespace xr::smtp
