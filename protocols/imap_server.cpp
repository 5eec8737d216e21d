#include "protocols/imap_server.hpp"

#include "protocols/base64.hpp"
#include "protocols/sasl_plain.hpp"

#include <cctype>
#include <utility>

namespace xr::imap {
namespace {

constexpr std::size_t kMaxLiterals = 4;  // LOGIN needs two; more is not a login
constexpr std::string_view kTooManyBad = "* BYE Too many invalid commands";
constexpr std::string_view kTooManyFailures = "* BYE Too many authentication failures";

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

// Commands of the authenticated and selected states: known, but only after login.
bool needs_login(std::string_view name) {
  for (std::string_view n : {"SELECT", "EXAMINE", "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE", "LIST",
                             "LSUB", "STATUS", "APPEND", "CHECK", "CLOSE", "EXPUNGE", "SEARCH", "FETCH", "STORE",
                             "COPY", "MOVE", "UID", "IDLE", "NAMESPACE", "ENABLE", "GETQUOTAROOT", "UNSELECT",
                             "COMPRESS"})
    if (name == n) return true;
  return false;
}

}  // namespace

Server::Server(ServerOptions opts) : LoginMachine(opts), opts_(std::move(opts)) {}

std::string Server::capabilities() const {
  std::string caps = "IMAP4rev1 SASL-IR LITERAL+ ID";
  if (tls_offered()) caps += " STARTTLS";
  caps += logins_allowed() ? " AUTH=PLAIN" : " LOGINDISABLED";
  return caps;
}

void Server::start() { reply("* OK [CAPABILITY " + capabilities() + "] " + opts_.greeting); }

void Server::timeout() {
  if (phase_ != Phase::closed) close_with("* BYE Autologout; idle for too long");
}

EventKind Server::bad(const std::string& tag, std::string_view text) {
  return invalid((tag.empty() ? std::string("*") : tag) + " BAD " + std::string(text), kTooManyBad);
}

EventKind Server::refused(std::string_view text) {
  return login_refused(tag_ + " NO " + std::string(text), kTooManyFailures);
}

EventKind Server::next() {
  for (;;) {
    if (auto ev = settled(); ev != EventKind::need_input || phase_ != Phase::commands) return ev;
    if (shutdown_) return close_with(kShutdownNotice);
    if (reading_ == Reading::literal) {
      literal_left_ -= in_.take_bytes(raw_.literals.back(), literal_left_);
      if (literal_left_ > 0) return input_ended();
      reading_ = Reading::commands;  // the command goes on after the literal
    }
    std::string line;
    auto st = in_.next(line);
    if (st == LineReader::Status::need_more) return input_ended();
    if (st == LineReader::Status::too_long) {
      raw_ = {};
      reading_ = Reading::commands;
      if (auto ev = bad("", "Line too long"); ev != EventKind::need_input) return ev;
      continue;
    }
    auto ev = on_line(line);
    wipe_secret(line);
    if (ev != EventKind::need_input) return ev;
  }
}

EventKind Server::on_line(std::string& line) {
  if (reading_ == Reading::sasl_response) {
    reading_ = Reading::commands;
    if (line == "*") return bad(tag_, "Authentication cancelled");
    return sasl_plain(line);
  }
  if (line.find('\0') != std::string::npos) {
    raw_ = {};
    return bad("", "NUL in command");
  }
  std::string_view before;
  if (auto lit = literal_at_end(line, &before)) {
    raw_.text.append(before);
    if (raw_.literals.size() >= kMaxLiterals || lit->size > opts_.max_literal_size ||
        raw_.text.size() > opts_.max_line_length) {
      std::string why;
      auto cmd = split_command(raw_, &why);
      std::string tag = cmd ? cmd->tag : std::string();
      for (auto& l : raw_.literals) wipe_secret(l);
      raw_ = {};
      // A synchronizing literal was not invited, so nothing follows; a
      // non-synchronizing one is on its way and cannot be skipped safely.
      if (!lit->sync) return close_with("* BYE Literal too large");
      return bad(tag, "Literal too large");
    }
    raw_.add_literal_marker();
    literal_left_ = lit->size;
    if (lit->sync) reply("+ Ready for literal data");
    reading_ = Reading::literal;
    return EventKind::need_input;
  }
  raw_.text.append(line);
  return dispatch();
}

EventKind Server::dispatch() {
  RawCommand raw = std::exchange(raw_, {});
  std::string why;
  auto cmd = split_command(raw, &why);
  if (!cmd) return bad("", why);
  if (cmd->name.empty()) return bad(cmd->tag, "Missing command");
  const auto& n = cmd->name;
  if (n == "CAPABILITY") {
    reply("* CAPABILITY " + capabilities());
    reply(cmd->tag + " OK CAPABILITY completed");
    return EventKind::need_input;
  }
  if (n == "NOOP") {
    reply(cmd->tag + " OK NOOP completed");
    return EventKind::need_input;
  }
  if (n == "LOGOUT") {
    reply("* BYE Logging out");
    return close_with(cmd->tag + " OK LOGOUT completed");
  }
  if (n == "ID") {
    reply("* ID NIL");
    reply(cmd->tag + " OK ID completed");
    return EventKind::need_input;
  }
  if (n == "STARTTLS") {
    if (tls_) return bad(cmd->tag, "TLS is already active");
    if (!opts_.starttls_offered) return bad(cmd->tag, "STARTTLS is not offered here");
    reply(cmd->tag + " OK Begin TLS negotiation now");
    return begin_tls();
  }
  if (n == "LOGIN" || n == "AUTHENTICATE") {
    auto ev = n == "LOGIN" ? login(*cmd, raw) : authenticate(*cmd, raw);
    for (auto& l : raw.literals) wipe_secret(l);
    wipe_secret(raw.text);
    return ev;
  }
  if (needs_login(n)) return bad(cmd->tag, "Please log in first");
  return bad(cmd->tag, "Unknown command");
}

EventKind Server::login(const Command& cmd, const RawCommand& raw) {
  if (!logins_allowed()) {
    count_refused_without_tls();
    reply(cmd.tag + " NO [PRIVACYREQUIRED] Plaintext authentication disallowed; use STARTTLS first");
    return EventKind::need_input;
  }
  std::string why;
  auto args = parse_astrings(cmd, raw, &why);
  if (!args) return bad(cmd.tag, why);
  if (args->size() != 2) {
    for (auto& a : *args) wipe_secret(a);
    return bad(cmd.tag, "LOGIN needs a user name and a password");
  }
  tag_ = cmd.tag;
  return begin_auth(std::move((*args)[0]), std::move((*args)[1]), "LOGIN");
}

EventKind Server::authenticate(const Command& cmd, const RawCommand& raw) {
  std::string why;
  auto args = parse_astrings(cmd, raw, &why);
  if (!args) return bad(cmd.tag, why);
  if (args->empty() || args->size() > 2) {
    for (auto& a : *args) wipe_secret(a);
    return bad(cmd.tag, "AUTHENTICATE needs a mechanism");
  }
  std::string ir = args->size() == 2 ? std::move((*args)[1]) : std::string();
  if (!iequals((*args)[0], "PLAIN")) {
    wipe_secret(ir);
    reply(cmd.tag + " NO [CANNOT] Unsupported authentication mechanism");
    return EventKind::need_input;
  }
  if (!logins_allowed()) {
    wipe_secret(ir);
    count_refused_without_tls();
    reply(cmd.tag + " NO [PRIVACYREQUIRED] Plaintext authentication disallowed; use STARTTLS first");
    return EventKind::need_input;
  }
  tag_ = cmd.tag;
  if (args->size() == 2) {  // SASL-IR (RFC 4959); "=" is an empty response
    auto ev = sasl_plain(ir == "=" ? std::string_view() : std::string_view(ir));
    wipe_secret(ir);
    return ev;
  }
  reply("+ ");
  reading_ = Reading::sasl_response;
  return EventKind::need_input;
}

EventKind Server::sasl_plain(std::string_view base64) {
  auto decoded = base64_decode(base64);
  if (!decoded) return bad(tag_, "Invalid base64 in the SASL response");
  auto creds = parse_sasl_plain(*decoded);
  if (!creds) return refused("[AUTHENTICATIONFAILED] Authentication failed.");
  return begin_auth(std::move(creds->user), std::move(creds->password), "AUTHENTICATE PLAIN");
}

void Server::complete_auth(AuthOutcome outcome, std::string data) {
  if (!end_auth()) return;
  switch (outcome) {
    case AuthOutcome::ok:
      reply(tag_ + " OK [CAPABILITY " + (data.empty() ? std::string("IMAP4rev1") : data) + "] Logged in");
      phase_ = Phase::logged_in;
      return;
    case AuthOutcome::bad_credentials: refused("[AUTHENTICATIONFAILED] Authentication failed."); return;
    case AuthOutcome::upstream_refused: refused("[AUTHENTICATIONFAILED] Office 365 refused the login"); return;
    case AuthOutcome::unavailable:
      refused("[UNAVAILABLE] " + (data.empty() ? std::string("Try again later") : data));
      return;
  }
}

}  // namespace xr::imap
