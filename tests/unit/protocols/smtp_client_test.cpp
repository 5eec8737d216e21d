// Client machine: login sequence, failures, commands, DATA and BDAT framing.
#include "protocols/base64.hpp"
#include "transcript.hpp"

using namespace xr;
using namespace xr::test;
using smtp::ClientFailure;

namespace {

const std::string kToken = "fake-token-for-tests";

smtp::ClientOptions opts() {
  smtp::ClientOptions o;
  o.helo_name = "relay.test";
  o.mailbox = "scan@contoso.test";
  return o;
}

// The output holds the token: swap the XOAUTH2 response for a marker so a
// failing CHECK can print it.
std::string masked(std::string out, const smtp::ClientOptions& o = opts(), const std::string& token = kToken) {
  const std::string ir = smtp::xoauth2_initial_response(o.mailbox, token);
  for (std::size_t pos; (pos = out.find(ir)) != std::string::npos;) out.replace(pos, ir.size(), "<IR>");
  return out;
}

const std::string kGreeting = "220 outlook.test Microsoft ESMTP MAIL Service ready\r\n";
const std::string kEhloPlain =
    "250-outlook.test Hello [192.0.2.1]\r\n250-SIZE 157286400\r\n250-PIPELINING\r\n250-STARTTLS\r\n"
    "250 8BITMIME\r\n";
const std::string kTlsReady = "220 2.0.0 SMTP server ready\r\n";
const std::string kEhloTls =
    "250-outlook.test Hello [192.0.2.1]\r\n250-SIZE 157286400\r\n250-PIPELINING\r\n"
    "250-AUTH LOGIN XOAUTH2\r\n250-CHUNKING\r\n250 SMTPUTF8\r\n";
const std::string kAuthOk = "235 2.7.0 Authentication successful\r\n";

ClientStep cmd(std::string line) {
  return [line](smtp::Client& c) { c.command(line); };
}

}  // namespace

TEST_CASE("client: STARTTLS, one-line XOAUTH2, a message with dot-stuffing") {
  auto r = run_client_transcript(
      opts(), kToken,
      {in(kGreeting + kEhloPlain + kTlsReady),
       in(kEhloTls + kAuthOk + "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n354 Start mail input\r\n"),
       in("250 2.0.0 OK <id> Queued mail for delivery\r\n")},
      {cmd("MAIL FROM:<scan@contoso.test>"), cmd("RCPT TO:<bob@contoso.test>"), cmd("DATA"),
       [](smtp::Client& c) {
         c.message_data("Subject: x\r\n\r\n.hidden\r");
         c.message_data("\n..two\r\n");
         c.message_data(".");
         c.message_data("\r\nend");
         c.message_end();
       }});
  CHECK(masked(r.output) ==
        "EHLO relay.test\r\nSTARTTLS\r\nEHLO relay.test\r\nAUTH XOAUTH2 <IR>\r\n"
        "MAIL FROM:<scan@contoso.test>\r\nRCPT TO:<bob@contoso.test>\r\nDATA\r\n"
        "Subject: x\r\n\r\n..hidden\r\n...two\r\n..\r\nend\r\n.\r\n");
  CHECK(r.events ==
        "STARTTLS\nLOGGED_IN\nREPLY 250 2.1.0 Sender OK\nREPLY 250 2.1.5 Recipient OK\n"
        "REPLY 354 Start mail input\nREPLY 250 2.0.0 OK <id> Queued mail for delivery\n");
}

TEST_CASE("client: capabilities are the post-TLS ones") {
  smtp::Client c(opts());
  c.set_token(kToken);
  c.feed(kGreeting + kEhloPlain + kTlsReady);
  // All replies are buffered already: straight to start_tls, STARTTLS still to be written.
  REQUIRE(c.next() == smtp::ClientEventKind::start_tls);
  CHECK(c.output() == "EHLO relay.test\r\nSTARTTLS\r\n");
  c.output().clear();
  CHECK(c.capabilities().starttls);
  c.feed("250 injected\r\n");  // before the handshake: must be ignored
  c.tls_started();
  REQUIRE(c.next() == smtp::ClientEventKind::need_input);
  CHECK(c.output() == "EHLO relay.test\r\n");
  c.feed(kEhloTls + kAuthOk);
  REQUIRE(c.next() == smtp::ClientEventKind::logged_in);
  CHECK_FALSE(c.capabilities().starttls);
  CHECK(c.capabilities().chunking);
  CHECK(c.capabilities().smtputf8);
  CHECK(c.capabilities().size == 157286400);
  CHECK(c.last_reply().code == 235);
}

TEST_CASE("client: greeting refused, no STARTTLS, no XOAUTH2") {
  auto r = run_client_transcript(opts(), kToken, {in("554 5.7.1 Go away\r\n")}, {});
  CHECK(r.events == "FAILED greeting_refused 554 5.7.1 Go away\n");
  CHECK(r.output.empty());

  r = run_client_transcript(opts(), kToken, {in(kGreeting + "250-outlook.test\r\n250 SIZE 100\r\n")}, {});
  CHECK(r.failure == ClientFailure::no_starttls);
  CHECK(r.output == "EHLO relay.test\r\n");  // never a token in the clear

  r = run_client_transcript(opts(), kToken,
                            {in(kGreeting + kEhloPlain + kTlsReady), in("250-o\r\n250 AUTH LOGIN PLAIN\r\n")}, {});
  CHECK(r.failure == ClientFailure::no_xoauth2);
  CHECK(r.output == "EHLO relay.test\r\nSTARTTLS\r\nEHLO relay.test\r\n");
}

TEST_CASE("client: implicit TLS skips STARTTLS") {
  auto o = opts();
  o.implicit_tls = true;
  auto r = run_client_transcript(o, kToken, {in(kGreeting + kEhloTls + kAuthOk)}, {});
  CHECK(masked(r.output, o) == "EHLO relay.test\r\nAUTH XOAUTH2 <IR>\r\n");
  CHECK(r.events == "LOGGED_IN\n");
}

TEST_CASE("client: the AUTH line goes two-step exactly when it would pass max_line") {
  auto o = opts();
  o.implicit_tls = true;
  const std::string ir = smtp::xoauth2_initial_response(o.mailbox, kToken);
  const std::size_t one_line = std::string("AUTH XOAUTH2 ").size() + ir.size() + 2;

  o.max_line = one_line;  // fits exactly
  auto r = run_client_transcript(o, kToken, {in(kGreeting + kEhloTls + kAuthOk)}, {});
  CHECK(masked(r.output, o) == "EHLO relay.test\r\nAUTH XOAUTH2 <IR>\r\n");

  o.max_line = one_line - 1;
  r = run_client_transcript(o, kToken, {in(kGreeting + kEhloTls + "334 \r\n" + kAuthOk)}, {});
  CHECK(masked(r.output, o) == "EHLO relay.test\r\nAUTH XOAUTH2\r\n<IR>\r\n");
  CHECK(r.events == "LOGGED_IN\n");

  // A real token (2 KB) always goes two-step with the default 512.
  const std::string long_token(2000, 't');
  o.max_line = 512;
  r = run_client_transcript(o, long_token, {in(kGreeting + kEhloTls + "334 \r\n" + kAuthOk)}, {});
  CHECK(masked(r.output, o, long_token) == "EHLO relay.test\r\nAUTH XOAUTH2\r\n<IR>\r\n");
}

TEST_CASE("client: 535 and the error challenge both end in auth_refused with the final reply") {
  auto o = opts();
  o.implicit_tls = true;
  auto r = run_client_transcript(o, kToken,
                                 {in(kGreeting + kEhloTls + "535 5.7.3 Authentication unsuccessful [X]\r\n")}, {});
  CHECK(r.events == "FAILED auth_refused 535 5.7.3 Authentication unsuccessful [X]\n");

  const std::string challenge = base64_encode(R"({"status":"401","schemes":"bearer","scope":"x"})");
  r = run_client_transcript(o, kToken,
                            {in(kGreeting + kEhloTls + "334 " + challenge + "\r\n"),
                             in("535 5.7.8 Username and Password not accepted\r\n")},
                            {});
  CHECK(masked(r.output, o) == "EHLO relay.test\r\nAUTH XOAUTH2 <IR>\r\n\r\n");
  CHECK(r.events == "FAILED auth_refused 535 5.7.8 Username and Password not accepted\n");
  CHECK(r.challenge == R"({"status":"401","schemes":"bearer","scope":"x"})");

  // Two-step, refused at the AUTH line itself.
  o.max_line = 20;
  r = run_client_transcript(o, kToken, {in(kGreeting + kEhloTls + "504 5.7.4 Unrecognized authentication type\r\n")},
                            {});
  CHECK(r.failure == ClientFailure::auth_refused);
  CHECK(r.output == "EHLO relay.test\r\nAUTH XOAUTH2\r\n");
}

TEST_CASE("client: unexpected codes and unparseable replies") {
  auto r = run_client_transcript(opts(), kToken, {in(kGreeting + "500 5.5.1 What\r\n")}, {});
  CHECK(r.events == "FAILED protocol_error 500 5.5.1 What\n");
  r = run_client_transcript(opts(), kToken, {in(kGreeting + kEhloPlain + "454 4.7.0 TLS not available\r\n")}, {});
  CHECK(r.events == "FAILED protocol_error 454 4.7.0 TLS not available\n");
  r = run_client_transcript(opts(), kToken, {in("hello there\r\n")}, {});
  CHECK(r.failure == ClientFailure::protocol_error);
  CHECK(std::string(smtp::to_string(ClientFailure::no_xoauth2)) == "no_xoauth2");
  CHECK(std::string(smtp::to_string(ClientFailure::none)) == "none");
}

namespace {

// Logged in over implicit TLS; then the steps.
ClientRun after_login(const std::vector<ClientStep>& steps, const std::string& replies) {
  auto o = opts();
  o.implicit_tls = true;
  return run_client_transcript(o, kToken, {in(kGreeting + kEhloTls + kAuthOk), in(replies)}, steps);
}

std::string without_login(const std::string& out) {
  const std::string login_end = "\r\n";
  // "EHLO relay.test\r\nAUTH XOAUTH2 <IR>\r\n" comes first.
  const std::size_t auth = out.find("AUTH XOAUTH2");
  return out.substr(out.find(login_end, auth) + login_end.size());
}

}  // namespace

TEST_CASE("client: terminator depends on whether the data ended with CRLF") {
  auto message = [](std::vector<std::string> parts) {
    return [parts](smtp::Client& c) {
      for (const auto& p : parts) c.message_data(p);
      c.message_end();
    };
  };
  auto r = after_login({message({})}, "250 ok\r\n");
  CHECK(without_login(r.output) == ".\r\n");
  r = after_login({message({"abc\r\n"})}, "250 ok\r\n");
  CHECK(without_login(r.output) == "abc\r\n.\r\n");
  r = after_login({message({"abc"})}, "250 ok\r\n");
  CHECK(without_login(r.output) == "abc\r\n.\r\n");
  r = after_login({message({"abc\r"})}, "250 ok\r\n");
  CHECK(without_login(r.output) == "abc\r\r\n.\r\n");
  r = after_login({message({"abc\r", "\n"})}, "250 ok\r\n");
  CHECK(without_login(r.output) == "abc\r\n.\r\n");
  // Two messages: the second starts at a line start again.
  r = after_login({message({"x"}), message({".y"})}, "250 ok\r\n250 ok\r\n");
  CHECK(without_login(r.output) == "x\r\n.\r\n..y\r\n.\r\n");
  CHECK(r.events == "LOGGED_IN\nREPLY 250 ok\nREPLY 250 ok\n");
}

TEST_CASE("client: dot-stuffing at line starts, after CRLF or a bare LF") {
  smtp::ClientOptions o = opts();
  auto r = after_login({[](smtp::Client& c) {
                         c.message_data(".a\r\n.");
                         c.message_data(".b\nc.d\n.e\r");
                         c.message_data("\n");
                         c.message_data(".");
                         c.message_end();
                       }},
                       "250 ok\r\n");
  // A "." after a bare LF is stuffed too: a receiver that ends lines at LF
  // must not see a terminator there (the relay itself never sends bare LF).
  CHECK(without_login(r.output) == "..a\r\n...b\nc.d\n..e\r\n..\r\n.\r\n");
}

TEST_CASE("client: BDAT framing, each chunk yields a reply") {
  auto r = after_login({[](smtp::Client& c) { c.bdat("hello\r\n", false); },
                        [](smtp::Client& c) { c.bdat(".\r\n", true); }, cmd("RSET")},
                       "250 2.0.0 chunk ok\r\n250 2.6.0 queued\r\n250 2.0.0 reset\r\n");
  CHECK(without_login(r.output) == "BDAT 7\r\nhello\r\nBDAT 3 LAST\r\n.\r\nRSET\r\n");
  CHECK(r.events == "LOGGED_IN\nREPLY 250 2.0.0 chunk ok\nREPLY 250 2.6.0 queued\nREPLY 250 2.0.0 reset\n");
}

TEST_CASE("client: multi-line replies to commands") {
  auto r = after_login({cmd("NOOP")}, "250-first\r\n250-second\r\n250 third\r\n");
  CHECK(r.events == "LOGGED_IN\nREPLY 250 first\n");
}

TEST_CASE("xoauth2_initial_response is the documented string") {
  const std::string ir = smtp::xoauth2_initial_response("a@b.test", "tok");
  auto raw = base64_decode(ir);
  REQUIRE(raw);
  CHECK((*raw == std::string("user=a@b.test\x01" "auth=Bearer tok\x01\x01")));
}

TEST_CASE("Capabilities::parse") {
  smtp::Reply r;
  r.code = 250;
  r.lines = {"host Hello AUTH STARTTLS", "size 1000", "auth=login plain", "Auth xoauth2 LOGIN",
             "STARTTLS", "pipelining", "CHUNKING", "8bitmime", "EnhancedStatusCodes", "SMTPUTF8", "X-UNKNOWN 1"};
  auto c = smtp::Capabilities::parse(r);
  CHECK(c.size == 1000);
  CHECK(c.auth == std::set<std::string>{"LOGIN", "PLAIN", "XOAUTH2"});
  CHECK(c.starttls);
  CHECK(c.pipelining);
  CHECK(c.chunking);
  CHECK(c.eightbitmime);
  CHECK(c.enhanced_status_codes);
  CHECK(c.smtputf8);

  r.lines = {"host AUTH XOAUTH2 STARTTLS", "SIZE", "SIZE abc"};
  c = smtp::Capabilities::parse(r);  // the greeting line is not an extension
  CHECK(c.auth.empty());
  CHECK_FALSE(c.starttls);
  CHECK(c.size == 0);
  r.lines = {"host", "SIZE"};
  CHECK(smtp::Capabilities::parse(r).size == 0);
}
