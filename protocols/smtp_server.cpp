// The Server machine's core: the event loop, line reading, message data, and
// the simple commands. AUTH and MAIL/RCPT/DATA live in their own files.
#include "protocols/smtp_server.hpp"

#include "protocols/smtp_server_impl.hpp"

#include <algorithm>

namespace xr::smtp {
namespace {

constexpr int kMaxErrors = 20;

char ascii_upper(char c) { return c >= 'a' && c <= 'z' ? char(c - 'a' + 'A') : c; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return ascii_upper(x) == ascii_upper(y); });
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// --- public API -------------------------------------------------------------

Server::Server(ServerOptions opts) : impl_(std::make_unique<Impl>(std::move(opts))) {}
Server::~Server() {
  wipe_secret(auth_password_);
  if (impl_) wipe_secret(impl_->in);  // may still hold an AUTH line
}
Server::Server(Server&&) noexcept = default;
Server& Server::operator=(Server&&) noexcept = default;

void Server::start() {
  out_ += "220 " + impl_->opts.hostname + " ESMTP xoauth2-relay ready\r\n";
}

void Server::feed(std::string_view bytes) {
  // Bytes that arrive between STARTTLS and the handshake are plaintext that
  // an attacker may have injected: never execute them.
  if (impl_->closed || impl_->pending == Impl::Pending::tls) return;
  append_wiping(impl_->in, bytes);  // growing leaves no copy of an AUTH line behind
}

void Server::eof() { impl_->got_eof = true; }
void Server::timeout() { impl_->timed_out = true; }
void Server::shutdown() { impl_->shutting_down = true; }
void Server::shutdown(std::string_view reply_line) {
  if (impl_->shutting_down) return;
  impl_->shutting_down = true;
  impl_->shutdown_reply = std::string(reply_line);
}

EventKind Server::next() { return impl_->next(*this); }

void Server::complete_auth(AuthOutcome outcome, std::string_view temporary_text) {
  impl_->complete_auth(*this, outcome, temporary_text);
}
void Server::complete_command(const Reply& reply) { impl_->complete_command(*this, reply); }

void Server::tls_started() {
  auto& m = *impl_;
  if (m.pending != Impl::Pending::tls) return;
  m.pending = Impl::Pending::none;
  // RFC 3207 4.2: forget everything learnt before the handshake.
  m.tls_active = true;
  m.greeting = Impl::Greeting::none;
  m.ehlo_without_auth = false;
  m.helo_name.clear();
  m.authenticated = false;
  m.auth_step = Impl::AuthStep::none;
  m.reset_transaction();
  wipe_secret(m.in);
  m.discarding_line = false;
}

bool Server::tls_active() const { return impl_->tls_active; }
bool Server::authenticated() const { return impl_->authenticated; }
std::size_t Server::messages_accepted() const { return impl_->accepted; }
std::size_t Server::message_bare_lf() const { return impl_->decoder.bare_lf_count(); }
bool Server::message_bare_cr() const { return impl_->bare_cr; }
const std::string& Server::helo_name() const { return impl_->helo_name; }
std::size_t Server::auth_refused_without_tls() const { return impl_->auth_without_tls; }
bool Server::auth_not_offered() const {
  return impl_->ehlo_without_auth && impl_->opts.auth_required && !impl_->authenticated;
}

// --- the loop ---------------------------------------------------------------

EventKind Server::Impl::next(Server& s) {
  s.data_view_ = {};
  if (closed) return EventKind::close;
  if (pending != Pending::none) {
    wipe_secret(s.auth_password_);
    pending = Pending::none;
    if (!timed_out && !got_eof) {
      // next() while a completion is owed: the shell lost track. Refuse to
      // guess what happened upstream.
      reply(s, "421 4.3.0 Internal error, closing connection");
      closed = true;
      return EventKind::close;
    }
    in_data = false;  // the owed completion will not come; a finished message is not aborted
  }
  for (;;) {
    if (in_data) {
      if (auto ev = data_step(s)) return *ev;
      if (in_data) return EventKind::need_input;
    }
    if (closed) return EventKind::close;
    if (timed_out) {
      reply(s, "421 4.4.2 " + opts.hostname + " Error: timeout exceeded");
      closed = true;
      return EventKind::close;
    }
    if (got_eof) {
      closed = true;
      return EventKind::close;
    }
    if (shutting_down) {
      reply(s, shutdown_reply);
      closed = true;
      return EventKind::close;
    }
    std::string line;
    const Take took = take_line(s, line);
    if (took == Take::need_input) return EventKind::need_input;
    if (took == Take::refused) continue;  // an overlong line; the loop top sees a close
    auto handled = handle_line(s, line);
    wipe_secret(line);  // may have held AUTH data
    if (handled) return *handled;
  }
}

// One step in DATA mode: an event to return, or nullopt when the message
// finished without one (size abort) or more input is needed.
std::optional<EventKind> Server::Impl::data_step(Server& s) {
  if (abort_next) {
    abort_next = false;
    return EventKind::message_abort;
  }
  if (timed_out || got_eof) {
    // The message will never be finished: the shell must abandon it upstream.
    if (!message_aborted) {
      message_aborted = true;
      return EventKind::message_abort;
    }
    in_data = false;
    message_done = false;
    return std::nullopt;
  }
  if (!message_done) {
    data_buf.clear();
    const std::size_t used = decoder.decode(in, data_buf);
    in.erase(0, used);
    message_done = decoder.done();
    if (!message_aborted) {
      if (const std::size_t cr = decoder.first_bare_cr(); cr != std::string::npos) {
        // "\r.\r" and its kin: a boundary the next hop might see and the
        // relay did not. Stream up to the bare CR (as for the size limit,
        // what the shell sees does not depend on the chunking), then abort;
        // the rest is read and dropped up to the terminator, then refused.
        data_buf.resize(cr);
        bare_cr = true;
      }
      if (data_buf.size() > opts.max_message_size - message_size) {
        // Stream exactly up to the limit, then abort: what the shell sees
        // does not depend on how the input was chunked.
        data_buf.resize(opts.max_message_size - message_size);
        message_size = opts.max_message_size;
        message_aborted = true;
        bare_cr = false;  // the size limit came first
        if (data_buf.empty()) return EventKind::message_abort;
        abort_next = true;
        s.data_view_ = data_buf;
        return EventKind::message_data;
      }
      if (bare_cr) {
        message_size += data_buf.size();
        message_aborted = true;
        if (data_buf.empty()) return EventKind::message_abort;
        abort_next = true;
        s.data_view_ = data_buf;
        return EventKind::message_data;
      }
      message_size += data_buf.size();
      if (!data_buf.empty()) {
        s.data_view_ = data_buf;
        return EventKind::message_data;
      }
    }
  }
  if (!message_done) return std::nullopt;
  in_data = false;
  message_done = false;
  // The buffers grew to the shell's DATA reads; a session that stays
  // connected after its message (most are idle until QUIT) gives them back.
  std::string().swap(data_buf);
  shrink_wiping(in);
  if (message_aborted) {
    // Postfix's wording for its bare <LF> refusal (smtpd_forbid_bare_newline).
    reply(s, bare_cr ? "550 5.5.2 Error: bare <CR> received"
                     : "552 5.3.4 Message size exceeds fixed maximum message size");
    reset_transaction();
    return std::nullopt;
  }
  pending = Pending::message_end;
  return EventKind::message_end;
}

Server::Impl::Take Server::Impl::take_line(Server& s, std::string& line) {
  std::size_t lf = in.find('\n');
  if (discarding_line) {
    // The tail of an overlong line (it may be an AUTH line's secret) is
    // overwritten, not just dropped: no copy stays in the buffer's storage.
    if (lf == std::string::npos) {
      wipe_secret(in);
      return Take::need_input;
    }
    erase_front_wiping(in, lf + 1);
    discarding_line = false;
    lf = in.find('\n');
  }
  if (lf == std::string::npos) {
    // +1: the CR of a CRLF may already be here. Beyond that the line is too
    // long whatever follows: refuse now rather than buffer without bound.
    if (in.size() <= opts.max_line_length + 1) return Take::need_input;
    wipe_secret(in);
    discarding_line = true;
    refuse_long_line(s);
    return Take::refused;
  }
  line.assign(in, 0, lf);
  std::fill(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(lf + 1), '\0');
  erase_front_wiping(in, lf + 1);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.size() > opts.max_line_length) {
    wipe_secret(line);
    refuse_long_line(s);
    return Take::refused;
  }
  return Take::line;
}

void Server::Impl::refuse_long_line(Server& s) {
  auth_step = AuthStep::none;  // an overlong AUTH response ends the exchange
  wipe_secret(login_user);
  fail(s, "500 5.5.2 Line too long");
}

// --- commands -----------------------------------------------------------------

Server::Impl::Handled Server::Impl::handle_line(Server& s, std::string& line) {
  if (auth_step != AuthStep::none) return on_auth_response(s, line);
  if (line.find('\0') != std::string::npos) {
    fail(s, "500 5.5.2 NUL character not allowed in commands");
    return std::nullopt;
  }
  std::string_view text = line;
  const std::size_t sp = text.find(' ');
  std::string_view verb = text.substr(0, sp);
  std::string_view args = sp == std::string_view::npos ? std::string_view{} : text.substr(sp + 1);
  return handle_command(s, verb, args);
}

Server::Impl::Handled Server::Impl::handle_command(Server& s, std::string_view verb, std::string_view args) {
  if (iequals(verb, "EHLO")) return on_hello(s, args, true);
  if (iequals(verb, "HELO")) return on_hello(s, args, false);
  if (iequals(verb, "MAIL")) return on_mail(s, args);
  if (iequals(verb, "RCPT")) return on_rcpt(s, args);
  if (iequals(verb, "DATA")) return on_data(s, args);
  if (iequals(verb, "RSET")) return on_rset(s, args);
  if (iequals(verb, "AUTH")) return on_auth(s, args);
  if (iequals(verb, "STARTTLS")) return on_starttls(s, args);
  if (iequals(verb, "NOOP")) {
    reply(s, "250 2.0.0 OK");
  } else if (iequals(verb, "QUIT")) {
    reply(s, "221 2.0.0 Bye");
    closed = true;
    return EventKind::close;
  } else if (iequals(verb, "VRFY")) {
    reply(s, "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery");
  } else if (iequals(verb, "HELP")) {
    reply(s, "214 2.0.0 Commands: EHLO HELO STARTTLS AUTH MAIL RCPT DATA RSET NOOP VRFY HELP QUIT");
  } else if (iequals(verb, "EXPN") || iequals(verb, "BDAT")) {
    // BDAT: CHUNKING is not advertised, so a client must not use it.
    fail(s, "502 5.5.1 Command not implemented");
  } else {
    fail(s, "500 5.5.1 Command unrecognized");
  }
  return std::nullopt;
}

std::string Server::Impl::ehlo_reply() const {
  Reply r;
  r.code = 250;
  r.lines.push_back(opts.hostname + " Hello " + helo_name);
  r.lines.push_back("SIZE " + std::to_string(opts.max_message_size));
  r.lines.push_back("8BITMIME");
  r.lines.push_back("PIPELINING");
  r.lines.push_back("ENHANCEDSTATUSCODES");
  r.lines.push_back("SMTPUTF8");
  if (opts.starttls_offered && !tls_active) r.lines.push_back("STARTTLS");
  // Passwords never cross the network in the clear unless the admin says so.
  if (tls_active || opts.allow_plaintext_auth) r.lines.push_back("AUTH PLAIN LOGIN");
  return r.wire();
}

Server::Impl::Handled Server::Impl::on_hello(Server& s, std::string_view args, bool extended) {
  args = trim(args);
  if (args.empty()) {
    fail(s, extended ? "501 5.5.4 Syntax: EHLO hostname" : "501 5.5.4 Syntax: HELO hostname");
    return std::nullopt;
  }
  helo_name = std::string(args.substr(0, args.find(' ')));
  greeting = extended ? Greeting::ehlo : Greeting::helo;
  ehlo_without_auth = extended && !tls_active && !opts.allow_plaintext_auth;
  std::string text = extended ? ehlo_reply() : "250 " + opts.hostname + "\r\n";
  if (mail_open) {
    // A new greeting resets the transaction (RFC 5321 4.1.4): upstream too.
    ehlo_after_rset = std::move(text);
    s.command_ = Command{CommandKind::rset, {}, {}, "RSET"};
    pending = Pending::command;
    return EventKind::upstream_command;
  }
  reset_transaction();
  s.out_ += text;
  return std::nullopt;
}

Server::Impl::Handled Server::Impl::on_starttls(Server& s, std::string_view args) {
  if (!trim(args).empty()) {
    fail(s, "501 5.5.4 Syntax: STARTTLS");
  } else if (tls_active) {
    fail(s, "503 5.5.1 TLS already active");
  } else if (!opts.starttls_offered) {
    fail(s, "502 5.5.1 STARTTLS not available");
  } else if (mail_open) {
    fail(s, "503 5.5.1 Mail transaction in progress");
  } else {
    reply(s, "220 2.0.0 Ready to start TLS");
    // Whatever was pipelined after STARTTLS came in plaintext and would run
    // as if it came over TLS (CVE-2011-0411): drop it.
    wipe_secret(in);
    discarding_line = false;
    pending = Pending::tls;
    return EventKind::start_tls;
  }
  return std::nullopt;
}

Server::Impl::Handled Server::Impl::on_rset(Server& s, std::string_view args) {
  if (!trim(args).empty()) {
    fail(s, "501 5.5.4 Syntax: RSET");
    return std::nullopt;
  }
  if (mail_open) {
    s.command_ = Command{CommandKind::rset, {}, {}, "RSET"};
    pending = Pending::command;
    return EventKind::upstream_command;
  }
  reset_transaction();
  reply(s, "250 2.0.0 OK");
  return std::nullopt;
}

void Server::Impl::reply(Server& s, std::string_view line) {
  s.out_ += line;
  s.out_ += "\r\n";
}

void Server::Impl::fail(Server& s, std::string_view line) {
  reply(s, line);
  if (++errors >= kMaxErrors && !closed) {
    reply(s, "421 4.7.0 Too many errors");
    closed = true;
  }
}

void Server::Impl::reset_transaction() {
  mail_open = false;
  mail_smtputf8 = false;
  recipients = 0;
  in_data = false;
  message_aborted = false;
  bare_cr = false;
  abort_next = false;
  message_done = false;
  message_size = 0;
  decoder.reset();
}

}  // namespace xr::smtp
