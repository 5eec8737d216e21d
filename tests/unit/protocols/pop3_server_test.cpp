// Device-facing POP3 machine: CAPA, USER/PASS, AUTH PLAIN, STLS, limits,
// hand-over to the splice.
#include "login_transcript.hpp"
#include "protocols/base64.hpp"
#include "protocols/pop3_server.hpp"

using namespace xr;
using namespace xr::test;

namespace {

pop3::ServerOptions tls_opts() {
  pop3::ServerOptions o;
  o.greeting = "relay.test ready";
  o.tls_active = true;
  return o;
}

pop3::ServerOptions stls_opts() {
  auto o = tls_opts();
  o.tls_active = false;
  o.starttls_offered = true;
  return o;
}

LoginRun run(const Plan& script, const pop3::ServerOptions& o = tls_opts(), const LoginAnswer& a = accept_alice()) {
  auto r = login_server_transcript<pop3::Server>(o, script, a);
  CHECK(r.output.starts_with("+OK relay.test ready\r\n"));
  r.output.erase(0, r.output.find("\r\n") + 2);
  return r;
}

std::string b64(std::string_view s) { return base64_encode(s); }

}  // namespace

TEST_CASE("pop3 server: CAPA follows TLS state and policy") {
  CHECK(run({in("CAPA\r\n")}).output == "+OK Capability list follows\r\nUSER\r\nSASL PLAIN\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n.\r\n");
  CHECK(run({in("capa\r\n")}, stls_opts()).output ==
        "+OK Capability list follows\r\nSTLS\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n.\r\n");
  CHECK(run({in("AUTH\r\n")}).output == "+OK\r\nPLAIN\r\n.\r\n");
}

TEST_CASE("pop3 server: USER/PASS, the password is the rest of the line") {
  std::string seen;
  LoginAnswer remember = [&](const std::string& u, const std::string& p) -> std::pair<LoginOutcome, std::string> {
    seen = u + "|" + p;
    return {LoginOutcome::ok, {}};
  };
  auto r = run({in("USER alice\r\nPASS pw with spaces \xc3\xa9\r\nSTAT\r\n")}, tls_opts(), remember);
  CHECK(r.output == "+OK\r\n+OK Logged in\r\n");
  CHECK(r.events == "AUTH USER/PASS alice\nLOGGED_IN\n");
  CHECK(seen == "alice|pw with spaces \xc3\xa9");
  CHECK(r.leftover == "STAT\r\n");

  r = run({in("PASS x\r\nUSER\r\n")});
  CHECK(r.output == "-ERR USER first\r\n-ERR USER needs a user name\r\n");
}

TEST_CASE("pop3 server: AUTH PLAIN with initial response, continuation, cancel") {
  const std::string creds = b64(std::string("\0alice\0pw-alice", 15));
  auto r = run({in("AUTH PLAIN " + creds + "\r\n")});
  CHECK(r.output == "+OK Logged in\r\n");
  CHECK(r.events == "AUTH AUTH PLAIN alice\nLOGGED_IN\n");
  r = run({in("auth plain\r\n"), in(creds + "\r\n")});
  CHECK(r.output == "+ \r\n+OK Logged in\r\n");
  r = run({in("AUTH PLAIN\r\n"), in("*\r\n")});
  CHECK(r.output == "+ \r\n-ERR [AUTH] Authentication cancelled\r\n");
  r = run({in("AUTH CRAM-MD5\r\nAUTH PLAIN !!\r\n")});
  CHECK(r.output == "-ERR [AUTH] Unsupported authentication mechanism\r\n-ERR [AUTH] Invalid base64 in the SASL response\r\n");
}

TEST_CASE("pop3 server: refusals, their limit and upstream outcomes") {
  auto r = run({in("USER alice\r\nPASS x\r\nUSER bob\r\nPASS y\r\nUSER alice\r\nPASS z\r\nUSER alice\r\n")});
  CHECK(r.output ==
        "+OK\r\n-ERR [AUTH] Authentication failed.\r\n+OK\r\n-ERR [AUTH] Authentication failed.\r\n"
        "+OK\r\n-ERR [AUTH] Authentication failed.\r\n-ERR [AUTH] Too many authentication failures\r\n");
  CHECK(r.closed);
  LoginAnswer unavailable = [](const std::string&, const std::string&) {
    return std::pair{LoginOutcome::unavailable, std::string("Office 365 sign-in is unavailable")};
  };
  CHECK(run({in("USER alice\r\nPASS pw-alice\r\n")}, tls_opts(), unavailable).output ==
        "+OK\r\n-ERR [SYS/TEMP] Office 365 sign-in is unavailable\r\n");
  LoginAnswer refused = [](const std::string&, const std::string&) {
    return std::pair{LoginOutcome::upstream_refused, std::string()};
  };
  CHECK(run({in("USER alice\r\nPASS pw-alice\r\n")}, tls_opts(), refused).output ==
        "+OK\r\n-ERR [AUTH] Office 365 refused the login\r\n");
}

TEST_CASE("pop3 server: no logins in the clear; STLS drops pipelined bytes") {
  auto r = run({in("USER alice\r\nAUTH PLAIN\r\n"), in_atomic("STLS\r\nUSER alice\r\n"), in("CAPA\r\n")}, stls_opts());
  CHECK(r.output ==
        "-ERR [AUTH] Plaintext authentication disallowed; use STLS first\r\n"
        "-ERR [AUTH] Plaintext authentication disallowed; use STLS first\r\n"
        "+OK Begin TLS negotiation\r\n"
        "+OK Capability list follows\r\nUSER\r\nSASL PLAIN\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n.\r\n");
  CHECK(r.events == "STARTTLS\n");
  CHECK(run({in("STLS\r\n")}).output == "-ERR TLS is already active\r\n");
}

TEST_CASE("pop3 server: transaction commands, unknown commands, limits, QUIT") {
  auto r = run({in("STAT\r\nRETR 1\r\nFROB\r\nAPOP a b\r\nQUIT\r\nNOOP\r\n")});
  CHECK(r.output ==
        "-ERR Not logged in\r\n-ERR Not logged in\r\n-ERR Unknown command\r\n"
        "-ERR [AUTH] APOP is not supported; use USER/PASS or AUTH PLAIN\r\n+OK Bye\r\n");
  CHECK(r.closed);
  std::string junk;
  for (int i = 0; i < 11; ++i) junk += "FROB\r\n";
  r = run({in(junk)});
  CHECK(r.output.ends_with("-ERR Unknown command\r\n-ERR Too many invalid commands\r\n"));
  auto o = tls_opts();
  o.max_line_length = 32;
  r = run({in(std::string(40, 'x') + "\r\nCAPA\r\n")}, o);
  CHECK(r.output.starts_with("-ERR Line too long\r\n+OK Capability list follows\r\n"));
  r = run({in("CAPA\r\n"), timeout_input()});
  CHECK(r.output.ends_with(".\r\n-ERR Autologout; idle for too long\r\n"));
  r = run({in("USER a"), eof_input()});
  CHECK(r.events == "CLOSE\n");
  r = run({in("USER alice\r\n"), shutdown_input()});
  CHECK(r.output == "+OK\r\n-ERR [SYS/TEMP] Server shutting down\r\n");
  CHECK(r.closed);
}
