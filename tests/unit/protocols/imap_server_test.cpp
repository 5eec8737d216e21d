// Device-facing IMAP machine: greeting, pre-login commands, LOGIN argument
// syntax, AUTHENTICATE PLAIN, STARTTLS, limits, hand-over to the splice.
#include "login_transcript.hpp"
#include "protocols/base64.hpp"
#include "protocols/imap_server.hpp"

using namespace xr;
using namespace xr::test;

namespace {

imap::ServerOptions tls_opts() {
  imap::ServerOptions o;
  o.greeting = "relay.test ready";
  o.tls_active = true;
  return o;
}

imap::ServerOptions starttls_opts() {
  auto o = tls_opts();
  o.tls_active = false;
  o.starttls_offered = true;
  return o;
}

const std::string kTlsGreeting = "* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL+ ID AUTH=PLAIN] relay.test ready\r\n";

LoginRun run(const Plan& script, const imap::ServerOptions& o = tls_opts(), const LoginAnswer& a = accept_alice()) {
  return login_server_transcript<imap::Server>(o, script, a);
}

// Output after the greeting.
std::string after_greeting(const LoginRun& r) { return r.output.substr(r.output.find("\r\n") + 2); }

std::string b64(std::string_view s) { return base64_encode(s); }

}  // namespace

TEST_CASE("imap server: greeting capabilities follow TLS state and policy") {
  CHECK(run({}).output == kTlsGreeting);
  CHECK(run({}, starttls_opts()).output ==
        "* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL+ ID STARTTLS LOGINDISABLED] relay.test ready\r\n");
  auto o = starttls_opts();
  o.allow_plaintext_auth = true;
  CHECK(run({}, o).output == "* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL+ ID STARTTLS AUTH=PLAIN] relay.test ready\r\n");
}

TEST_CASE("imap server: CAPABILITY, NOOP, ID, LOGOUT before login") {
  auto r = run({in("a CAPABILITY\r\nb noop\r\nc ID (\"name\" \"x\")\r\nd LOGOUT\r\ne NOOP\r\n")});
  CHECK(after_greeting(r) ==
        "* CAPABILITY IMAP4rev1 SASL-IR LITERAL+ ID AUTH=PLAIN\r\n"
        "a OK CAPABILITY completed\r\n"
        "b OK NOOP completed\r\n"
        "* ID NIL\r\nc OK ID completed\r\n"
        "* BYE Logging out\r\nd OK LOGOUT completed\r\n");
  CHECK(r.events == "CLOSE\n");
}

TEST_CASE("imap server: LOGIN with atoms, quoted strings and escapes") {
  auto r = run({in("a1 LOGIN alice pw-alice\r\n")});
  CHECK(after_greeting(r) == "a1 OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n");
  CHECK(r.events == "AUTH LOGIN alice\nLOGGED_IN\n");

  std::string seen;
  LoginAnswer remember = [&](const std::string& u, const std::string& p) -> std::pair<LoginOutcome, std::string> {
    seen = u + "|" + p;
    return {LoginOutcome::ok, "IMAP4rev1"};
  };
  run({in("a1 LOGIN \"al ice\" \"p\\\"w\\\\x\"\r\n")}, tls_opts(), remember);
  CHECK(seen == "al ice|p\"w\\x");
  run({in("a1 LOGIN erp \"s3cr\xc3\xa9t\"\r\n")}, tls_opts(), remember);  // UTF-8 passwords pass intact
  CHECK(seen == "erp|s3cr\xc3\xa9t");
  run({in("a1 login \"\" \"\"\r\n")}, tls_opts(), remember);
  CHECK(seen == "|");
}

TEST_CASE("imap server: LOGIN with synchronizing and non-synchronizing literals") {
  std::string seen;
  LoginAnswer remember = [&](const std::string& u, const std::string& p) -> std::pair<LoginOutcome, std::string> {
    seen = u + "|" + p;
    return {LoginOutcome::ok, "IMAP4rev1"};
  };
  // The continuation is sent only once the literal is announced.
  auto r = run({in("a1 LOGIN {5}\r\n"), in("alice {8}\r\n"), in("pw\r\nal\"i SP-after\r\n")}, tls_opts(), remember);
  CHECK(after_greeting(r) == "+ Ready for literal data\r\n+ Ready for literal data\r\na1 BAD LOGIN needs a user name and a password\r\n");
  r = run({in("a1 LOGIN {5}\r\n"), in("alice {8}\r\n"), in("pw\r\nal\"i\r\n")}, tls_opts(), remember);
  CHECK(after_greeting(r) == "+ Ready for literal data\r\n+ Ready for literal data\r\na1 OK [CAPABILITY IMAP4rev1] Logged in\r\n");
  CHECK(seen == "alice|pw\r\nal\"i");
  r = run({in("a1 LOGIN {5+}\r\nalice {3+}\r\np w\r\n")}, tls_opts(), remember);
  CHECK(after_greeting(r) == "a1 OK [CAPABILITY IMAP4rev1] Logged in\r\n");
  CHECK(seen == "alice|p w");
}

TEST_CASE("imap server: bad LOGIN syntax gets BAD, never a login") {
  auto r = run({in("a1 LOGIN alice\r\na2 LOGIN \"alice pw\r\na3 LOGIN alice \"p\\w\"\r\na4 LOGIN (alice) pw\r\n"
                   "a5 LOGIN a b c\r\n")});
  CHECK(after_greeting(r) ==
        "a1 BAD LOGIN needs a user name and a password\r\n"
        "a2 BAD Unterminated quoted string\r\n"
        "a3 BAD Invalid escape in quoted string\r\n"
        "a4 BAD Invalid characters in atom\r\n"
        "a5 BAD LOGIN needs a user name and a password\r\n");
  CHECK(r.events.empty());
}

TEST_CASE("imap server: AUTHENTICATE PLAIN with SASL-IR, continuation and cancel") {
  const std::string creds = b64(std::string("\0alice\0pw-alice", 15));
  auto r = run({in("a1 AUTHENTICATE PLAIN " + creds + "\r\n")});
  CHECK(after_greeting(r) == "a1 OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n");
  CHECK(r.events == "AUTH AUTHENTICATE PLAIN alice\nLOGGED_IN\n");

  r = run({in("a1 authenticate plain\r\n"), in(creds + "\r\n")});
  CHECK(after_greeting(r) == "+ \r\na1 OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n");

  r = run({in("a1 AUTHENTICATE PLAIN\r\n"), in("*\r\n")});
  CHECK(after_greeting(r) == "+ \r\na1 BAD Authentication cancelled\r\n");
  CHECK(r.events.empty());

  r = run({in("a1 AUTHENTICATE PLAIN =\r\na2 AUTHENTICATE PLAIN !!!\r\na3 AUTHENTICATE CRAM-MD5\r\n")});
  CHECK(after_greeting(r) ==
        "a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"
        "a2 BAD Invalid base64 in the SASL response\r\n"
        "a3 NO [CANNOT] Unsupported authentication mechanism\r\n");
}

TEST_CASE("imap server: no logins in the clear; STARTTLS drops pipelined bytes") {
  auto r = run({in("a1 LOGIN alice pw-alice\r\na2 AUTHENTICATE PLAIN\r\n"),
                in_atomic("a3 STARTTLS\r\na4 LOGIN alice pw-alice\r\n"), in("a5 CAPABILITY\r\n")},
               starttls_opts());
  CHECK(after_greeting(r) ==
        "a1 NO [PRIVACYREQUIRED] Plaintext authentication disallowed; use STARTTLS first\r\n"
        "a2 NO [PRIVACYREQUIRED] Plaintext authentication disallowed; use STARTTLS first\r\n"
        "a3 OK Begin TLS negotiation now\r\n"
        "* CAPABILITY IMAP4rev1 SASL-IR LITERAL+ ID AUTH=PLAIN\r\n"
        "a5 OK CAPABILITY completed\r\n");
  CHECK(r.events == "STARTTLS\n");

  r = run({in("a STARTTLS\r\n")});
  CHECK(after_greeting(r) == "a BAD TLS is already active\r\n");
  auto o = tls_opts();
  o.tls_active = false;
  r = run({in("a STARTTLS\r\n")}, o);
  CHECK(after_greeting(r) == "a BAD STARTTLS is not offered here\r\n");
}

TEST_CASE("imap server: failed logins and their limit") {
  auto r = run({in("a1 LOGIN alice wrong\r\na2 LOGIN bob x\r\na3 LOGIN alice nope\r\na4 LOGIN alice pw-alice\r\n")});
  CHECK(after_greeting(r) ==
        "a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"
        "a2 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"
        "a3 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"
        "* BYE Too many authentication failures\r\n");
  CHECK(r.events == "AUTH LOGIN alice\nAUTH LOGIN bob\nAUTH LOGIN alice\nCLOSE\n");
}

TEST_CASE("imap server: upstream outcomes become NO with response codes") {
  auto answer = [](LoginOutcome o, std::string data) -> LoginAnswer {
    return [=](const std::string&, const std::string&) { return std::pair{o, data}; };
  };
  auto r = run({in("t LOGIN alice pw-alice\r\n")}, tls_opts(), answer(LoginOutcome::upstream_refused, ""));
  CHECK(after_greeting(r) == "t NO [AUTHENTICATIONFAILED] Office 365 refused the login\r\n");
  r = run({in("t LOGIN alice pw-alice\r\n")}, tls_opts(), answer(LoginOutcome::unavailable, "Office 365 is not reachable"));
  CHECK(after_greeting(r) == "t NO [UNAVAILABLE] Office 365 is not reachable\r\n");
  r = run({in("t LOGIN alice pw-alice\r\n")}, tls_opts(), answer(LoginOutcome::unavailable, ""));
  CHECK(after_greeting(r) == "t NO [UNAVAILABLE] Try again later\r\n");
}

TEST_CASE("imap server: commands after the login line are handed to the splice") {
  auto r = run({in("a1 LOGIN alice pw-alice\r\na2 SELECT INBOX\r\n"), in("a3 IDLE\r\n")});
  CHECK(r.events == "AUTH LOGIN alice\nLOGGED_IN\n");
  CHECK(r.leftover == "a2 SELECT INBOX\r\na3 IDLE\r\n");
}

TEST_CASE("imap server: commands that need a login, unknown commands, bad tags") {
  auto r = run({in("a SELECT INBOX\r\nb FROB\r\n\r\n+ NOOP\r\nc\r\n* LOGIN\r\n")});
  CHECK(after_greeting(r) ==
        "a BAD Please log in first\r\n"
        "b BAD Unknown command\r\n"
        "* BAD Empty command\r\n"
        "* BAD Invalid tag\r\n"
        "c BAD Missing command\r\n"
        "* BAD Invalid tag\r\n");
  CHECK_FALSE(r.closed);
}

TEST_CASE("imap server: ten invalid commands end the session") {
  std::string junk;
  for (int i = 0; i < 12; ++i) junk += "x FROB\r\n";
  auto r = run({in(junk)});
  CHECK(r.events == "CLOSE\n");
  CHECK(r.output.ends_with("x BAD Unknown command\r\n* BYE Too many invalid commands\r\n"));
}

TEST_CASE("imap server: line and literal limits") {
  auto o = tls_opts();
  o.max_line_length = 64;
  o.max_literal_size = 16;
  auto r = run({in("a " + std::string(100, 'x') + "\r\nb NOOP\r\n")}, o);
  CHECK(after_greeting(r) == "* BAD Line too long\r\nb OK NOOP completed\r\n");
  // A synchronizing literal that was not invited sends nothing more.
  r = run({in("a LOGIN {17}\r\nb NOOP\r\n")}, o);
  CHECK(after_greeting(r) == "a BAD Literal too large\r\nb OK NOOP completed\r\n");
  // A non-synchronizing one is already on its way: the only safe answer is to hang up.
  r = run({in("a LOGIN {17+}\r\n01234567890123456\r\n")}, o);
  CHECK(after_greeting(r) == "* BYE Literal too large\r\n");
  CHECK(r.closed);
  r = run({in("a LOGIN {1+}\r\na {1+}\r\nb {1+}\r\nc {1+}\r\nd {1+}\r\n")}, o);
  CHECK(after_greeting(r) == "* BYE Literal too large\r\n");
}

TEST_CASE("imap server: NUL, eof, timeout and shutdown") {
  auto r = run({in_atomic(std::string("a NO\0OP\r\n", 9))});
  CHECK(after_greeting(r) == "* BAD NUL in command\r\n");
  r = run({in("a LOGIN {5}\r\nal"), eof_input()});
  CHECK(r.events == "CLOSE\n");
  r = run({in("a NOOP\r\n"), timeout_input()});
  CHECK(after_greeting(r) == "a OK NOOP completed\r\n* BYE Autologout; idle for too long\r\n");
  r = run({in("a NOOP\r\n"), shutdown_input()});
  CHECK(after_greeting(r) == "a OK NOOP completed\r\n* BYE [UNAVAILABLE] Server shutting down\r\n");
}
