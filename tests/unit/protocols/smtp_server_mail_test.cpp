// Server machine: MAIL/RCPT/DATA sequencing and parameters, message data,
// RSET, the simple commands, limits, and the ways a session ends.
#include "transcript.hpp"

using namespace std::string_literals;

using namespace xr;
using namespace xr::test;

namespace {

smtp::ServerOptions opts(std::size_t max_size = 100) {
  smtp::ServerOptions o;
  o.hostname = "relay.test";
  o.tls_active = true;
  o.auth_required = false;  // a no_auth source: MAIL right after EHLO
  o.max_message_size = max_size;
  o.max_line_length = 64;
  return o;
}

// "EHLO dev" + lines; the output after the EHLO reply.
ServerRun session(const Plan& rest, smtp::ServerOptions o = opts(), const Upstream& up = {}) {
  Plan plan{in("EHLO dev\r\n")};
  plan.insert(plan.end(), rest.begin(), rest.end());
  auto r = run_server_transcript(o, plan, up);
  const std::size_t ehlo_end = r.output.find("\r\n250 ");
  REQUIRE(ehlo_end != std::string::npos);
  r.output.erase(0, r.output.find("\r\n", ehlo_end + 2) + 2);
  return r;
}

const std::string kOpen = "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n";
const std::string kOpenReplies =
    "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n354 Start mail input; end with <CRLF>.<CRLF>\r\n";
const std::string kOpenEvents = "CMD MAIL FROM:<a@b>\nCMD RCPT TO:<c@d>\nCMD DATA\n";
const std::string kQueued = "250 2.6.0 Queued mail for delivery\r\n";

}  // namespace

TEST_CASE("MAIL: sequencing") {
  auto r = run_server_transcript(opts(), {in("MAIL FROM:<a@b>\r\n")});
  CHECK(r.output.ends_with("503 5.5.1 Send HELO/EHLO first\r\n"));
  r = session({in("MAIL FROM:<a@b>\r\nMAIL FROM:<a@b>\r\n")});
  CHECK(r.output == "250 2.1.0 Sender OK\r\n503 5.5.1 Sender already specified\r\n");
  // A refused MAIL opens no transaction.
  Upstream up;
  up.command = [](const smtp::Command&) { return smtp::make_reply(550, "5.7.60 no send as"); };
  r = session({in("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n")}, opts(), up);
  CHECK(r.output == "550 5.7.60 no send as\r\n503 5.5.1 Need MAIL command\r\n");
}

TEST_CASE("MAIL: path syntax, null sender, space after the colon") {
  auto r = session({in("mail from: <a@b>\r\n")});
  CHECK(r.events == "CMD MAIL FROM:<a@b>\n");
  r = session({in("MAIL FROM:<>\r\n")});
  CHECK(r.events == "CMD MAIL FROM:<>\n");
  REQUIRE(r.commands.size() == 1);
  CHECK(r.commands[0].address.empty());
  CHECK(r.commands[0].kind == smtp::CommandKind::mail);
  r = session({in("MAIL FROM:<@relay.x,@relay.y:a@b>\r\n")});
  CHECK(r.events == "CMD MAIL FROM:<a@b>\n");
  r = session({in("MAIL FROM:<\"a b\"@c>\r\n")});
  CHECK(r.events == "CMD MAIL FROM:<\"a b\"@c>\n");

  r = session({in("MAIL FROM:a@b\r\nMAIL TO:<a@b>\r\nMAIL FROM:<a@b\r\nMAIL FROM:<a b@c>\r\nMAIL\r\n"
                  "MAIL FROM:<a@b>SIZE=1\r\nMAIL FROM:<a<b>\r\n")});
  std::string expected;
  for (int i = 0; i < 7; ++i) expected += "501 5.1.7 Bad sender address syntax\r\n";
  CHECK(r.output == expected);
  CHECK(r.events.empty());
}

TEST_CASE("MAIL: parameters") {
  auto r = session({in("MAIL FROM:<a@b> size=100 body=7bit AUTH=<> \r\n")});
  CHECK(r.events == "CMD MAIL FROM:<a@b> SIZE=100 BODY=7BIT\n");
  REQUIRE(r.commands.size() == 1);
  CHECK(r.commands[0].params == "SIZE=100 BODY=7BIT");

  r = session({in("MAIL FROM:<a@b> SIZE=101\r\nMAIL FROM:<a@b> SIZE=99999999999999999999999\r\n"
                  "MAIL FROM:<a@b> SIZE=x\r\nMAIL FROM:<a@b> BODY=BINARYMIME\r\nMAIL FROM:<a@b> RET=HDRS\r\n"
                  "MAIL FROM:<a@b> SMTPUTF8=yes\r\n")});
  CHECK(r.output ==
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
        "501 5.5.4 Invalid SIZE parameter\r\n501 5.5.4 Invalid BODY parameter\r\n"
        "555 5.5.4 Unsupported parameter\r\n555 5.5.4 Unsupported parameter\r\n");
}

TEST_CASE("MAIL/RCPT: non-ASCII addresses need SMTPUTF8") {
  auto r = session({in("MAIL FROM:<j\xC3\xB6rg@b>\r\nMAIL FROM:<j\xC3\xB6rg@b> SMTPUTF8\r\nRCPT TO:<\xC3\xA5@d>\r\n")});
  CHECK(r.output == "553 5.6.7 Non-ASCII address requires SMTPUTF8\r\n250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n");
  r = session({in("MAIL FROM:<a@b>\r\nRCPT TO:<\xC3\xA5@d>\r\n")});
  CHECK(r.output == "250 2.1.0 Sender OK\r\n553 5.6.7 Non-ASCII address requires SMTPUTF8\r\n");
}

TEST_CASE("RCPT: syntax, parameters, recipient limit, refused recipients do not count") {
  auto r = session({in("RCPT TO:<c@d>\r\nMAIL FROM:<a@b>\r\nRCPT TO:<>\r\nRCPT TO:c@d\r\n"
                       "RCPT TO:<c@d> NOTIFY=NEVER\r\nRCPT TO: <Postmaster>\r\n")});
  CHECK(r.output ==
        "503 5.5.1 Need MAIL command\r\n250 2.1.0 Sender OK\r\n501 5.1.3 Bad recipient address syntax\r\n"
        "501 5.1.3 Bad recipient address syntax\r\n555 5.5.4 Unsupported parameter\r\n250 2.1.5 Recipient OK\r\n");

  Upstream up;
  up.command = [](const smtp::Command& c) {
    if (c.kind == smtp::CommandKind::rcpt) return smtp::make_reply(550, "5.1.1 unknown");
    return Upstream().command(c);
  };
  r = session({in("MAIL FROM:<a@b>\r\nRCPT TO:<x@d>\r\nDATA\r\n")}, opts(), up);
  CHECK(r.output == "250 2.1.0 Sender OK\r\n550 5.1.1 unknown\r\n554 5.5.1 No valid recipients\r\n");

  std::string many = "MAIL FROM:<a@b>\r\n";
  for (int i = 0; i < 501; ++i) many += "RCPT TO:<r" + std::to_string(i) + "@d>\r\n";
  smtp::Server m(opts());
  m.start();
  m.feed("EHLO d\r\n" + many);
  int accepted = 0;
  for (smtp::EventKind ev; (ev = m.next()) == smtp::EventKind::upstream_command;) {
    m.complete_command(smtp::make_reply(250, "ok"));
    accepted += m.command().kind == smtp::CommandKind::rcpt;
  }
  CHECK(accepted == 500);
  CHECK(m.output().ends_with("250 ok\r\n452 4.5.3 Too many recipients\r\n"));
}

TEST_CASE("DATA: sequencing; a refused DATA keeps the transaction") {
  auto r = session({in("DATA\r\nMAIL FROM:<a@b>\r\nDATA\r\nRCPT TO:<c@d>\r\nDATA now\r\n")});
  CHECK(r.output ==
        "503 5.5.1 Need MAIL command\r\n250 2.1.0 Sender OK\r\n554 5.5.1 No valid recipients\r\n"
        "250 2.1.5 Recipient OK\r\n501 5.5.4 Syntax: DATA\r\n");

  Upstream up;
  int data_calls = 0;
  up.command = [&data_calls](const smtp::Command& c) {
    if (c.kind == smtp::CommandKind::mail) data_calls = 0;  // one count per run
    if (c.kind == smtp::CommandKind::data && data_calls++ == 0) return smtp::make_reply(451, "4.3.0 later");
    return Upstream().command(c);
  };
  r = session({in(kOpen), in("DATA\r\nx\r\n.\r\n")}, opts(), up);
  CHECK(r.output == "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n451 4.3.0 later\r\n"
                    "354 Start mail input; end with <CRLF>.<CRLF>\r\n" + kQueued);
  CHECK(r.events == kOpenEvents + "CMD DATA\nDATA[x\r\n]\nEND\n");
}

TEST_CASE("DATA: dot-unstuffing, dots inside lines, bare LF, empty message") {
  // A bare LF ends a line like CRLF (and becomes CRLF): "..\n" is a stuffed
  // ".", and ".\n" ends the message as LF-only devices mean it to.
  auto r = session({in(kOpen + "..leading\r\n...\r\na.b\r\n.x\r\nbare\nlf\n..\n.\n")});
  CHECK(r.output == kOpenReplies + kQueued);
  CHECK(r.events == kOpenEvents + "DATA[.leading\r\n..\r\na.b\r\nx\r\nbare\r\nlf\r\n.\r\n]\nEND\n");

  r = session({in(kOpen + ".\r\n")});
  CHECK(r.events == kOpenEvents + "END\n");

  // ".\r" followed by something else is not the end (and a bare CR: see
  // bare_cr_test.cpp).
  r = session({in(kOpen + "a\r\n.\rx\r\n.\r\n")});
  CHECK(r.events == kOpenEvents + "DATA[a\r\n]\nABORT\n");
  // Commands after the message are commands again.
  r = session({in(kOpen + "QUIT\r\n.\r\nQUIT\r\n")});
  CHECK(r.events == kOpenEvents + "DATA[QUIT\r\n]\nEND\nCLOSE\n");
  CHECK(r.output == kOpenReplies + kQueued + "221 2.0.0 Bye\r\n");
}

TEST_CASE("DATA: the shell receives spans, never the whole message at once") {
  smtp::Server m(opts(10000));
  m.start();
  m.feed("EHLO d\r\n" + kOpen);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(m.next() == smtp::EventKind::upstream_command);
    m.complete_command(i < 2 ? smtp::make_reply(250, "ok") : smtp::make_reply(354, "go"));
  }
  m.feed("line one\r\nline two\r\n.");
  REQUIRE(m.next() == smtp::EventKind::message_data);
  CHECK(m.data() == "line one\r\nline two\r\n");  // the "." is held back: it may be the terminator
  REQUIRE(m.next() == smtp::EventKind::need_input);
  m.feed("\r");
  REQUIRE(m.next() == smtp::EventKind::need_input);
  m.feed("\nNOOP\r\n");
  REQUIRE(m.next() == smtp::EventKind::message_end);
  m.complete_command(smtp::make_reply(250, "2.0.0 queued"));
  CHECK(m.messages_accepted() == 1);
  REQUIRE(m.next() == smtp::EventKind::need_input);
  CHECK(m.output().ends_with("354 go\r\n250 2.0.0 queued\r\n250 2.0.0 OK\r\n"));
}

TEST_CASE("DATA: over the size limit the message is aborted once, then 552") {
  const std::string body(60, 'x');
  auto r = session({in(kOpen + body + "\r\n" + body + "\r\n.\r\nMAIL FROM:<a@b>\r\n")});
  CHECK(r.output == kOpenReplies + "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
                                   "250 2.1.0 Sender OK\r\n");
  // Exactly the first 100 bytes are streamed, then the abort, once.
  CHECK(r.events == kOpenEvents + "DATA[" + body + "\r\n" + body.substr(0, 38) + "]\nABORT\nCMD MAIL FROM:<a@b>\n");

  // Over the limit by the terminator's CRLF: nothing left to stream before the abort.
  r = session({in(kOpen + std::string(99, 'q') + "\r\n.\r\n")});
  CHECK(r.events == kOpenEvents + "DATA[" + std::string(99, 'q') + "\r]\nABORT\n");
  CHECK(r.output == kOpenReplies + "552 5.3.4 Message size exceeds fixed maximum message size\r\n");

  // Exactly at the limit is fine.
  const std::string exact(98, 'y');
  r = session({in(kOpen + exact + "\r\n.\r\n")});
  CHECK(r.events == kOpenEvents + "DATA[" + exact + "\r\n]\nEND\n");
}

TEST_CASE("RSET, EHLO in a transaction, NOOP, VRFY, HELP, EXPN, BDAT, unknown") {
  auto r = session({in("RSET\r\nMAIL FROM:<a@b>\r\nRSET\r\nRSET x\r\nNOOP anything\r\nVRFY bob\r\nHELP\r\n"
                       "EXPN list\r\nBDAT 10 LAST\r\nFOO\r\n")});
  CHECK(r.output ==
        "250 2.0.0 OK\r\n250 2.1.0 Sender OK\r\n250 2.0.0 Resetting\r\n501 5.5.4 Syntax: RSET\r\n250 2.0.0 OK\r\n"
        "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n"
        "214 2.0.0 Commands: EHLO HELO STARTTLS AUTH MAIL RCPT DATA RSET NOOP VRFY HELP QUIT\r\n"
        "502 5.5.1 Command not implemented\r\n502 5.5.1 Command not implemented\r\n"
        "500 5.5.1 Command unrecognized\r\n");
  CHECK(r.events == "CMD MAIL FROM:<a@b>\nCMD RSET\n");

  r = session({in("MAIL FROM:<a@b>\r\nHELO again\r\nRCPT TO:<c@d>\r\n")});
  CHECK(r.output == "250 2.1.0 Sender OK\r\n250 relay.test\r\n503 5.5.1 Need MAIL command\r\n");
  CHECK(r.events == "CMD MAIL FROM:<a@b>\nCMD RSET\n");
}

TEST_CASE("long lines and NUL bytes") {
  const std::string long_line = "NOOP " + std::string(100, 'a');
  auto r = session({in(long_line + "\r\nNOOP\r\n"), in(std::string(200, 'b')), in("\r\nNOOP\r\nNO\0OP\r\n"s)});
  CHECK(r.output == "500 5.5.2 Line too long\r\n250 2.0.0 OK\r\n500 5.5.2 Line too long\r\n250 2.0.0 OK\r\n"
                    "500 5.5.2 NUL character not allowed in commands\r\n");
  // A line of exactly the limit is accepted.
  r = session({in("NOOP " + std::string(59, 'a') + "\r\n")});
  CHECK(r.output == "250 2.0.0 OK\r\n");
}

TEST_CASE("20 bad commands close the session") {
  std::string bad;
  for (int i = 0; i < 25; ++i) bad += "XYZZY\r\n";
  auto r = session({in(bad)});
  std::string expected;
  for (int i = 0; i < 20; ++i) expected += "500 5.5.1 Command unrecognized\r\n";
  CHECK(r.output == expected + "421 4.7.0 Too many errors\r\n");
  CHECK(r.events == "CLOSE\n");
}

TEST_CASE("QUIT, timeout, shutdown, EOF") {
  auto r = session({in("QUIT\r\nNOOP\r\n")});
  CHECK(r.output == "221 2.0.0 Bye\r\n");
  CHECK(r.events == "CLOSE\n");

  r = session({in("NOO"), timeout_input()});
  CHECK(r.output == "421 4.4.2 relay.test Error: timeout exceeded\r\n");
  r = session({in(kOpen + "partial"), timeout_input()});
  CHECK(r.output == kOpenReplies + "421 4.4.2 relay.test Error: timeout exceeded\r\n");
  CHECK(r.events == kOpenEvents + "DATA[partial]\nABORT\nCLOSE\n");

  r = session({shutdown_input()});
  CHECK(r.output == "421 4.3.2 Service shutting down\r\n");
  r = session({in(kOpen + "body\r\n"), shutdown_input(), in(".\r\nNOOP\r\n")});
  CHECK(r.output == kOpenReplies + kQueued + "421 4.3.2 Service shutting down\r\n");
  CHECK(r.events == kOpenEvents + "DATA[body\r\n]\nEND\nCLOSE\n");

  r = session({in(kOpen + "body\r\n."), eof_input()});
  CHECK(r.output == kOpenReplies);
  CHECK(r.events == kOpenEvents + "DATA[body\r\n]\nABORT\nCLOSE\n");
  // After a size abort an EOF does not abort twice.
  r = session({in(kOpen + std::string(150, 'z')), eof_input()});
  CHECK(r.events.ends_with("ABORT\nCLOSE\n"));
  CHECK(r.events.find("ABORT") == r.events.rfind("ABORT"));
}

TEST_CASE("misuse: next() while a completion is owed closes with 421, completions out of turn are ignored") {
  smtp::Server m(opts());
  m.start();
  m.complete_command(smtp::make_reply(250, "stray"));
  m.complete_auth(smtp::AuthOutcome::ok);
  m.tls_started();
  CHECK_FALSE(m.authenticated());
  m.feed("EHLO d\r\nMAIL FROM:<a@b>\r\n");
  REQUIRE(m.next() == smtp::EventKind::upstream_command);
  CHECK(m.next() == smtp::EventKind::close);
  CHECK(m.output().ends_with("421 4.3.0 Internal error, closing connection\r\n"));
  CHECK(m.next() == smtp::EventKind::close);

  // A reply without a valid code is never passed on as success.
  smtp::Server n(opts());
  n.start();
  n.feed("EHLO d\r\nMAIL FROM:<a@b>\r\n");
  REQUIRE(n.next() == smtp::EventKind::upstream_command);
  n.complete_command(smtp::Reply{});
  CHECK(n.next() == smtp::EventKind::need_input);
  CHECK(n.output().ends_with("451 4.3.0 Local error in processing\r\n"));
}
