// Upstream POP3 login: Exchange's flow, servers without CAPA, refusals and
// the error challenge.
#include "login_transcript.hpp"
#include "protocols/pop3_client.hpp"
#include "protocols/xoauth2.hpp"

using namespace xr;
using namespace xr::test;

namespace {

const std::string kToken = "eyJ0eXAi.token.sig";
const std::string kResponse = xoauth2_initial_response("box@contoso.com", kToken);
const std::string kGreeting = "+OK The Microsoft Exchange POP3 service is ready. [U1RBTkRJTjAx]\r\n";
const std::string kCapa = "+OK\r\nTOP\r\nUIDL\r\nSASL PLAIN XOAUTH2\r\nUSER\r\n.\r\n";

LoginRun run(const Plan& server) {
  return login_client_transcript<pop3::Client>(pop3::ClientOptions{"box@contoso.com"}, kToken, server);
}

}  // namespace

TEST_CASE("pop3 client: Exchange's flow, two-step AUTH XOAUTH2") {
  auto r = run({in(kGreeting), in(kCapa), in("+ \r\n"), in("+OK User successfully authenticated.\r\n")});
  CHECK(r.output == "CAPA\r\nAUTH XOAUTH2\r\n" + kResponse + "\r\n");
  CHECK(r.events == "LOGGED_IN TOP UIDL SASL PLAIN XOAUTH2 USER\n");
  CHECK(r.leftover.empty());
}

TEST_CASE("pop3 client: a server without CAPA is tried anyway") {
  auto r = run({in(kGreeting), in("-ERR unknown command\r\n"), in("+\r\n"), in("+OK in\r\n")});
  CHECK(r.output == "CAPA\r\nAUTH XOAUTH2\r\n" + kResponse + "\r\n");
  CHECK(r.events == "LOGGED_IN \n");
}

TEST_CASE("pop3 client: refusals") {
  auto r = run({in(kGreeting), in(kCapa), in("+ \r\n"),
                in("-ERR Authentication failure: unknown user name or bad password.\r\n")});
  CHECK(r.events == "FAILED auth_refused -ERR Authentication failure: unknown user name or bad password.\n");
  r = run({in(kGreeting), in("+OK\r\nSASL PLAIN\r\nUSER\r\n.\r\n")});
  CHECK(r.events == "FAILED no_xoauth2 the server does not offer SASL XOAUTH2 (CAPA: SASL PLAIN USER)\n");
  r = run({in(kGreeting), in(kCapa), in("-ERR Unrecognized authentication type\r\n")});
  CHECK(r.events == "FAILED auth_refused -ERR Unrecognized authentication type\n");
  r = run({in("-ERR go away\r\n")});
  CHECK(r.events == "FAILED greeting_refused -ERR go away\n");
  r = run({in("* OK imap?\r\n")});
  CHECK(r.events == "FAILED protocol_error * OK imap?\n");
  r = run({in(kGreeting), in("+OK\r\nTOP\r\n"), eof_input()});
  CHECK(r.events == "FAILED protocol_error connection closed by the server\n");
}

TEST_CASE("pop3 client: a busy mailbox or server is a temporary refusal, not a refused token") {
  // Dovecot beyond mail_max_userip_connections; RFC 3206 and 2449 codes.
  for (std::string err : {"-ERR [IN-USE] Maximum number of connections from user+IP exceeded (mail_max_userip_connections=20)",
                          "-ERR [SYS/TEMP] Server shutting down", "-ERR [LOGIN-DELAY] try later",
                          "-ERR Request is throttled. Suggested Backoff Time: 5000 milliseconds"}) {
    CAPTURE(err);
    auto r = run({in(kGreeting), in(kCapa), in("+ \r\n"), in(err + "\r\n")});
    CHECK(r.events == "FAILED temporary " + err + "\n");
  }
  // Permanent codes stay refusals.
  auto r = run({in(kGreeting), in(kCapa), in("+ \r\n"), in("-ERR [AUTH] Authentication failed.\r\n")});
  CHECK(r.events == "FAILED auth_refused -ERR [AUTH] Authentication failed.\n");
  r = run({in(kGreeting), in(kCapa), in("+ \r\n"), in("-ERR [SYS/PERM] no\r\n")});
  CHECK(r.events == "FAILED auth_refused -ERR [SYS/PERM] no\n");
}

TEST_CASE("pop3 client: the error challenge is answered with an empty line") {
  auto r = run({in(kGreeting), in(kCapa), in("+ \r\n"), in("+ eyJzdGF0dXMiOiI0MDEifQ==\r\n"),
                in("-ERR Authentication failure\r\n")});
  CHECK(r.output == "CAPA\r\nAUTH XOAUTH2\r\n" + kResponse + "\r\n\r\n");
  CHECK(r.events == "FAILED auth_refused -ERR Authentication failure (challenge: {\"status\":\"401\"})\n");
}
