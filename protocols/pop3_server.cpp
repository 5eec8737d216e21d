#include "protocols/pop3_server.hpp"

#include "protocols/base64.hpp"
#include "protocols/sasl_plain.hpp"

#include <cctype>
#include <utility>

namespace xr::pop3 {
namespace {

constexpr std::string_view kTooManyBad = "-ERR Too many invalid commands";
constexpr std::string_view kTooManyFailures = "-ERR [AUTH] Too many authentication failures";
constexpr std::string_view kPlaintext = "[AUTH] Plaintext authentication disallowed; use STLS first";

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Commands of the TRANSACTION state: known, but only after login.
bool needs_login(std::string_view name) {
  for (std::string_view n : {"STAT", "LIST", "RETR", "DELE", "NOOP", "RSET", "TOP", "UIDL", "LAST"})
    if (name == n) return true;
  return false;
}

}  // namespace

Server::Server(ServerOptions opts) : LoginMachine(opts), opts_(std::move(opts)) {}

void Server::start() { reply("+OK " + opts_.greeting); }

void Server::timeout() {
  if (phase_ != Phase::closed) close_with("-ERR Autologout; idle for too long");
}

EventKind Server::bad(std::string_view text) { return invalid("-ERR " + std::string(text), kTooManyBad); }

EventKind Server::refused(std::string_view text) {
  return login_refused("-ERR " + std::string(text), kTooManyFailures);
}

EventKind Server::next() {
  for (;;) {
    if (auto ev = settled(); ev != EventKind::need_input || phase_ != Phase::commands) return ev;
    if (shutdown_) return close_with(kShutdownNotice);
    std::string line;
    auto st = in_.next(line);
    if (st == LineReader::Status::need_more) return input_ended();
    if (st == LineReader::Status::too_long) {
      awaiting_sasl_ = false;
      if (auto ev = bad("Line too long"); ev != EventKind::need_input) return ev;
      continue;
    }
    auto ev = on_line(line);
    wipe_secret(line);
    if (ev != EventKind::need_input) return ev;
  }
}

EventKind Server::on_line(std::string& line) {
  if (awaiting_sasl_) {
    awaiting_sasl_ = false;
    if (line == "*") return refused("[AUTH] Authentication cancelled");
    return sasl_plain(line);
  }
  std::string_view l = line;
  auto sp = l.find(' ');
  std::string name = upper(l.substr(0, sp));
  std::string_view arg = sp == std::string_view::npos ? std::string_view() : l.substr(sp + 1);
  if (name == "CAPA") return capa();
  if (name == "QUIT") return close_with("+OK Bye");
  if (name == "STLS") {
    if (tls_) return bad("TLS is already active");
    if (!opts_.starttls_offered) return bad("STLS is not offered here");
    reply("+OK Begin TLS negotiation");
    return begin_tls();
  }
  if (name == "USER") return user_command(arg);
  if (name == "PASS") return pass_command(arg);
  if (name == "AUTH") return auth(arg);
  if (name == "APOP") return refused("[AUTH] APOP is not supported; use USER/PASS or AUTH PLAIN");
  if (needs_login(name)) return bad("Not logged in");
  return bad("Unknown command");
}

EventKind Server::capa() {
  reply("+OK Capability list follows");
  if (tls_offered()) reply("STLS");
  if (logins_allowed()) {
    reply("USER");
    reply("SASL PLAIN");
  }
  reply("RESP-CODES");
  reply("AUTH-RESP-CODE");
  reply(".");
  return EventKind::need_input;
}

EventKind Server::user_command(std::string_view arg) {
  if (!logins_allowed()) {
    count_refused_without_tls();
    return refused(kPlaintext);
  }
  if (arg.empty()) return bad("USER needs a user name");
  pending_user_ = std::string(arg);
  reply("+OK");
  return EventKind::need_input;
}

EventKind Server::pass_command(std::string_view arg) {
  if (!logins_allowed()) {
    count_refused_without_tls();
    return refused(kPlaintext);
  }
  if (pending_user_.empty()) return bad("USER first");
  // RFC 1939 allows spaces in the password: the argument is the whole rest.
  return begin_auth(std::exchange(pending_user_, {}), std::string(arg), "USER/PASS");
}

EventKind Server::auth(std::string_view args) {
  if (args.empty()) {  // the mechanism list (a common extension)
    reply("+OK");
    if (logins_allowed()) reply("PLAIN");
    reply(".");
    return EventKind::need_input;
  }
  auto sp = args.find(' ');
  if (upper(args.substr(0, sp)) != "PLAIN") return refused("[AUTH] Unsupported authentication mechanism");
  if (!logins_allowed()) {
    count_refused_without_tls();
    return refused(kPlaintext);
  }
  pending_user_.clear();
  if (sp != std::string_view::npos) {  // initial response; "=" is an empty one
    std::string_view ir = args.substr(sp + 1);
    return sasl_plain(ir == "=" ? std::string_view() : ir);
  }
  reply("+ ");
  awaiting_sasl_ = true;
  return EventKind::need_input;
}

EventKind Server::sasl_plain(std::string_view base64) {
  auto decoded = base64_decode(base64);
  if (!decoded) return refused("[AUTH] Invalid base64 in the SASL response");
  auto creds = parse_sasl_plain(*decoded);
  if (!creds) return refused("[AUTH] Authentication failed.");
  return begin_auth(std::move(creds->user), std::move(creds->password), "AUTH PLAIN");
}

void Server::complete_auth(AuthOutcome outcome, std::string data) {
  if (!end_auth()) return;
  switch (outcome) {
    case AuthOutcome::ok:
      reply("+OK Logged in");
      phase_ = Phase::logged_in;
      return;
    case AuthOutcome::bad_credentials: refused("[AUTH] Authentication failed."); return;
    case AuthOutcome::upstream_refused: refused("[AUTH] Office 365 refused the login"); return;
    case AuthOutcome::unavailable:
      refused("[SYS/TEMP] " + (data.empty() ? std::string("Try again later") : data));
      return;
  }
}

}  // namespace xr::pop3
