// Server machine: greeting, EHLO/HELO, STARTTLS, and whole sessions.
#include "transcript.hpp"

using namespace xr;
using namespace xr::test;

namespace {

smtp::ServerOptions tls_opts() {
  smtp::ServerOptions o;
  o.hostname = "relay.test";
  o.tls_active = true;
  o.max_message_size = 1000;
  return o;
}

const std::string kGreeting = "220 relay.test ESMTP xoauth2-relay ready\r\n";
const std::string kEhloTls =
    "250-relay.test Hello dev\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-PIPELINING\r\n"
    "250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n250 AUTH PLAIN LOGIN\r\n";
// base64("\0alice\0pw-alice")
const std::string kAliceB64 = "AGFsaWNlAHB3LWFsaWNl";

}  // namespace

TEST_CASE("server: greeting, then EOF closes without output") {
  auto r = run_server_transcript(tls_opts(), {eof_input()});
  CHECK(r.output == kGreeting);
  CHECK(r.events == "CLOSE\n");
}

TEST_CASE("server: EHLO lists extensions in order; AUTH only over TLS or when allowed") {
  auto r = run_server_transcript(tls_opts(), {in("EHLO dev\r\n")});
  CHECK(r.output == kGreeting + kEhloTls);
  CHECK_FALSE(r.closed);

  smtp::ServerOptions plain;
  plain.hostname = "relay.test";
  plain.max_message_size = 1000;
  plain.starttls_offered = true;
  r = run_server_transcript(plain, {in("ehlo dev\r\n")});
  CHECK(r.output == kGreeting +
                        "250-relay.test Hello dev\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-PIPELINING\r\n"
                        "250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n250 STARTTLS\r\n");

  plain.allow_plaintext_auth = true;
  plain.starttls_offered = false;
  r = run_server_transcript(plain, {in("EHLO dev\r\n")});
  CHECK(r.output == kGreeting +
                        "250-relay.test Hello dev\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-PIPELINING\r\n"
                        "250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n250 AUTH PLAIN LOGIN\r\n");
}

TEST_CASE("server: HELO, missing arguments, bare LF and case-insensitive commands") {
  auto r = run_server_transcript(tls_opts(), {in("HELO printer\nEHLO\r\nhelo \r\nnoop\n")});
  CHECK(r.output == kGreeting + "250 relay.test\r\n501 5.5.4 Syntax: EHLO hostname\r\n"
                                "501 5.5.4 Syntax: HELO hostname\r\n250 2.0.0 OK\r\n");
}

TEST_CASE("server: STARTTLS discards pipelined input and forgets the session state") {
  smtp::ServerOptions o;
  o.hostname = "relay.test";
  o.starttls_offered = true;
  o.max_message_size = 1000;
  auto r = run_server_transcript(
      o, {in("EHLO dev\r\nAUTH PLAIN " + kAliceB64 + "\r\n"),
          in_atomic("STARTTLS\r\nMAIL FROM:<evil@x>\r\nRSET\r\n"),
          in("MAIL FROM:<a@b>\r\nEHLO dev\r\nSTARTTLS\r\nAUTH PLAIN " + kAliceB64 + "\r\nQUIT\r\n")});
  CHECK(r.output ==
        kGreeting +
            "250-relay.test Hello dev\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-PIPELINING\r\n"
            "250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n250 STARTTLS\r\n"
            "538 5.7.11 Encryption required for requested authentication mechanism\r\n"
            "220 2.0.0 Ready to start TLS\r\n"
            // after TLS: MAIL before EHLO, then EHLO without STARTTLS but with AUTH
            "503 5.5.1 Send HELO/EHLO first\r\n" +
            kEhloTls + "503 5.5.1 TLS already active\r\n235 2.7.0 Authentication successful\r\n221 2.0.0 Bye\r\n");
  CHECK(r.events == "STARTTLS\nAUTH PLAIN alice\nCLOSE\n");
}

TEST_CASE("server: STARTTLS refusals") {
  smtp::ServerOptions o;
  o.hostname = "relay.test";
  auto r = run_server_transcript(o, {in("STARTTLS\r\n")});
  CHECK(r.output == kGreeting + "502 5.5.1 STARTTLS not available\r\n");
  o.starttls_offered = true;
  r = run_server_transcript(o, {in("STARTTLS now\r\n")});
  CHECK(r.output == kGreeting + "501 5.5.4 Syntax: STARTTLS\r\n");
}

TEST_CASE("server: a whole session with two messages, pipelined") {
  auto r = run_server_transcript(
      tls_opts(),
      {in("EHLO dev\r\nAUTH PLAIN " + kAliceB64 + "\r\n"),
       in("MAIL FROM:<a@b> SIZE=20 BODY=8BITMIME AUTH=<>\r\nRCPT TO:<c@d>\r\nRCPT TO:<e@f>\r\nDATA\r\n"),
       in("Subject: x\r\n\r\nhello\r\n.\r\n"),
       in("MAIL FROM:<> \r\nRCPT TO:<c@d>\r\nDATA\r\n.\r\nQUIT\r\n")});
  CHECK(r.output == kGreeting + kEhloTls +
                        "235 2.7.0 Authentication successful\r\n"
                        "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n250 2.1.5 Recipient OK\r\n"
                        "354 Start mail input; end with <CRLF>.<CRLF>\r\n"
                        "250 2.6.0 Queued mail for delivery\r\n"
                        "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n"
                        "354 Start mail input; end with <CRLF>.<CRLF>\r\n"
                        "250 2.6.0 Queued mail for delivery\r\n221 2.0.0 Bye\r\n");
  CHECK(r.events ==
        "AUTH PLAIN alice\n"
        "CMD MAIL FROM:<a@b> SIZE=20 BODY=8BITMIME\nCMD RCPT TO:<c@d>\nCMD RCPT TO:<e@f>\nCMD DATA\n"
        "DATA[Subject: x\r\n\r\nhello\r\n]\nEND\n"
        "CMD MAIL FROM:<>\nCMD RCPT TO:<c@d>\nCMD DATA\nEND\nCLOSE\n");
  REQUIRE(r.commands.size() == 7);
  CHECK(r.commands[0].address == "a@b");
  CHECK(r.commands[0].params == "SIZE=20 BODY=8BITMIME");
  CHECK(r.commands[4].address == "");
}

TEST_CASE("server: messages_accepted counts 2xx final replies only") {
  smtp::ServerOptions o = tls_opts();
  o.auth_required = false;
  smtp::Server m(o);
  m.start();
  m.feed("EHLO d\r\nMAIL FROM:<a@b>\r\n");
  REQUIRE(m.next() == smtp::EventKind::upstream_command);
  m.complete_command(smtp::make_reply(250, "ok"));
  m.feed("RCPT TO:<c@d>\r\n");
  REQUIRE(m.next() == smtp::EventKind::upstream_command);
  m.complete_command(smtp::make_reply(250, "ok"));
  m.feed("DATA\r\n");
  REQUIRE(m.next() == smtp::EventKind::upstream_command);
  m.complete_command(smtp::make_reply(354, "go"));
  m.feed(".\r\n");
  REQUIRE(m.next() == smtp::EventKind::message_end);
  m.complete_command(smtp::make_reply(554, "5.6.0 refused"));
  CHECK(m.messages_accepted() == 0);
  CHECK(m.next() == smtp::EventKind::need_input);
  CHECK(m.output().ends_with("554 5.6.0 refused\r\n"));
  CHECK(m.helo_name() == "d");
  CHECK(m.tls_active());
  CHECK_FALSE(m.authenticated());
}
