// Upstream IMAP login: Exchange's flow, Dovecot's flow, the continuation
// form, refusals and the error challenge.
#include "login_transcript.hpp"
#include "protocols/imap_client.hpp"
#include "protocols/xoauth2.hpp"

using namespace xr;
using namespace xr::test;

namespace {

const std::string kToken = "eyJ0eXAi.token.sig";
const std::string kResponse = xoauth2_initial_response("box@contoso.com", kToken);

LoginRun run(const Plan& server) {
  return login_client_transcript<imap::Client>(imap::ClientOptions{"box@contoso.com"}, kToken, server);
}

const std::string kExchangeGreeting = "* OK The Microsoft Exchange IMAP4 service is ready. [U1RBTkRJTjAx]\r\n";
const std::string kPreCaps = "IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+";
const std::string kPostCaps = "IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS MOVE ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+";

}  // namespace

TEST_CASE("imap client: Exchange's flow asks for capabilities before and after login") {
  auto r = run({in(kExchangeGreeting), in("* CAPABILITY " + kPreCaps + "\r\nxr1 OK CAPABILITY completed.\r\n"),
                in("xr2 OK AUTHENTICATE completed.\r\n"),
                in("* CAPABILITY " + kPostCaps + "\r\nxr3 OK CAPABILITY completed.\r\n* 3 EXISTS\r\n")});
  CHECK(r.output == "xr1 CAPABILITY\r\nxr2 AUTHENTICATE XOAUTH2 " + kResponse + "\r\nxr3 CAPABILITY\r\n");
  CHECK(r.events == "LOGGED_IN " + kPostCaps + "\n");
  CHECK(r.leftover == "* 3 EXISTS\r\n");
}

TEST_CASE("imap client: capabilities in the greeting and in the tagged OK (Dovecot)") {
  auto r = run({in("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=XOAUTH2] Dovecot ready.\r\n"),
                in("xr2 OK [CAPABILITY IMAP4rev1 IDLE MOVE COMPRESS=DEFLATE] Logged in\r\n")});
  CHECK(r.output == "xr2 AUTHENTICATE XOAUTH2 " + kResponse + "\r\n");
  CHECK(r.events == "LOGGED_IN IMAP4rev1 IDLE MOVE COMPRESS=DEFLATE\n");
}

TEST_CASE("imap client: without SASL-IR the response follows the continuation") {
  auto r = run({in("* OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2] hi\r\n"), in("+ \r\n"),
                in("xr2 OK [CAPABILITY IMAP4rev1] done\r\n")});
  CHECK(r.output == "xr2 AUTHENTICATE XOAUTH2\r\n" + kResponse + "\r\n");
  CHECK(r.events == "LOGGED_IN IMAP4rev1\n");
}

TEST_CASE("imap client: refusals") {
  auto r = run({in(kExchangeGreeting), in("* CAPABILITY " + kPreCaps + "\r\nxr1 OK done\r\n"),
                in("xr2 NO AUTHENTICATE failed.\r\n")});
  CHECK(r.events == "FAILED auth_refused NO AUTHENTICATE failed.\n");

  r = run({in("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n")});
  CHECK(r.events == "FAILED no_xoauth2 the server does not offer AUTH=XOAUTH2 (capabilities: IMAP4rev1 AUTH=PLAIN)\n");
  CHECK(r.output.empty());

  r = run({in("* BYE Too busy\r\n")});
  CHECK(r.events == "FAILED greeting_refused * BYE Too busy\n");
  r = run({in("* PREAUTH hi\r\n")});
  CHECK(r.events == "FAILED protocol_error unexpected greeting: * PREAUTH hi\n");
  r = run({in(kExchangeGreeting), eof_input()});
  CHECK(r.events == "FAILED protocol_error connection closed by the server\n");
  r = run({in(kExchangeGreeting), in("xr9 OK what\r\n")});
  CHECK(r.events == "FAILED protocol_error unexpected reply: xr9 OK what\n");
}

TEST_CASE("imap client: a busy mailbox or server is a temporary refusal, not a refused token") {
  // Dovecot beyond mail_max_userip_connections; RFC 5530 codes; Exchange's throttling.
  for (std::string no : {"NO [LIMIT] Maximum number of connections from user+IP exceeded (mail_max_userip_connections=20)",
                         "NO [UNAVAILABLE] Temporary failure", "NO [INUSE] locked", "no [serverbug] oops",
                         "NO Request is throttled. Suggested Backoff Time: 5000 milliseconds"}) {
    CAPTURE(no);
    auto r = run({in("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2] hi\r\n"), in("xr2 " + no + "\r\n")});
    CHECK(r.events == "FAILED temporary " + no + "\n");
  }
  // A refused token, including RFC 5530's permanent codes and a code that only starts alike.
  for (std::string no : {"NO [AUTHENTICATIONFAILED] Authentication failed.", "NO [CONTACTADMIN] x",
                         "NO [LIMITED] x", "BAD [LIMIT] syntax"}) {
    CAPTURE(no);
    auto r = run({in("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2] hi\r\n"), in("xr2 " + no + "\r\n")});
    CHECK(r.events == "FAILED auth_refused " + no + "\n");
  }
}

TEST_CASE("imap client: the error challenge is answered with an empty line") {
  // base64 of {"status":"401","schemes":"bearer"}
  auto r = run({in("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2] hi\r\n"),
                in("+ eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIn0=\r\n"), in("xr2 NO AUTHENTICATE failed.\r\n")});
  CHECK(r.output == "xr2 AUTHENTICATE XOAUTH2 " + kResponse + "\r\n\r\n");
  CHECK(r.events ==
        "FAILED auth_refused NO AUTHENTICATE failed. (challenge: {\"status\":\"401\",\"schemes\":\"bearer\"})\n");
}
