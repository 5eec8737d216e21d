// Bare CR in DATA (a CR not followed by LF) closes the SMTP smuggling class:
// the message is streamed up to the bare CR, aborted (the shell drops the
// upstream transaction), read to its terminator and refused with 550 5.5.2;
// the session goes on. Bare LF stays a line end (made CRLF), as LF-only
// devices need: the relay re-encodes, so the next hop sees the same
// boundaries. Every case is fed whole, split at every byte, and byte by byte.
#include "protocols/dot_stuffing.hpp"
#include "transcript.hpp"

using namespace xr;
using namespace xr::test;

namespace {

smtp::ServerOptions opts(std::size_t max_size = 1000) {
  smtp::ServerOptions o;
  o.hostname = "relay.test";
  o.tls_active = true;
  o.auth_required = false;
  o.max_message_size = max_size;
  o.max_line_length = 64;
  return o;
}

const std::string kOpen = "EHLO dev\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n";
const std::string kOpenEvents = "CMD MAIL FROM:<a@b>\nCMD RCPT TO:<c@d>\nCMD DATA\n";
const std::string kRefused = "550 5.5.2 Error: bare <CR> received\r\n";

// Output after the 354.
std::string after_354(const ServerRun& r) {
  const std::size_t at = r.output.find("354 ");
  REQUIRE(at != std::string::npos);
  return r.output.substr(r.output.find("\r\n", at) + 2);
}

ServerRun data(const std::string& wire, smtp::ServerOptions o = opts()) {
  return run_server_transcript(o, {in(kOpen + wire)});
}

}  // namespace

TEST_CASE("bare CR: \\r.\\r smuggling is refused, and what follows is not a command") {
  const auto r = data("Subject: x\r\n\r\nhi\r.\rMAIL FROM:<ceo@x>\r\nRCPT TO:<v@y>\r\nDATA\r\nevil\r\n.\r\nNOOP\r\n");
  CHECK(r.events == kOpenEvents + "DATA[Subject: x\r\n\r\nhi]\nABORT\n");
  CHECK(after_354(r) == kRefused + "250 2.0.0 OK\r\n");
}

TEST_CASE("bare CR: \\r\\n.\\r + more is not the end, and is refused") {
  const auto r = data("a\r\n.\rMAIL FROM:<ceo@x>\r\n.\r\nNOOP\r\n");
  CHECK(r.events == kOpenEvents + "DATA[a\r\n]\nABORT\n");
  CHECK(after_354(r) == kRefused + "250 2.0.0 OK\r\n");
}

TEST_CASE("bare CR anywhere: mid-line, doubled before CRLF, at the start, after a stuffed dot") {
  for (const std::string& body : {std::string("ab\rcd\r\n"), std::string("ab\r\r\n"), std::string("\rab\r\n"),
                                  std::string("..\rx\r\n"), std::string("ok\r\nx\r.\r\n")}) {
    CAPTURE(body);
    const auto r = data(body + ".\r\nNOOP\r\n");
    CHECK(r.events.ends_with("ABORT\n"));
    CHECK(after_354(r) == kRefused + "250 2.0.0 OK\r\n");
  }
  // "x\r" then the terminator's LF: "x\r\n" is a CRLF, not a bare CR.
  const auto ok = data("x\r\n.\r\n");
  CHECK(ok.events == kOpenEvents + "DATA[x\r\n]\nEND\n");
}

TEST_CASE("bare LF: \\n.\\n ends the message at the relay, which re-encodes it with CRLF") {
  const auto r = data("a\n.\nNOOP\r\n");
  CHECK(r.events == kOpenEvents + "DATA[a\r\n]\nEND\n");
  CHECK(after_354(r) == "250 2.6.0 Queued mail for delivery\r\n250 2.0.0 OK\r\n");
}

TEST_CASE("a good message with CRLF everywhere passes unchanged") {
  const std::string msg = "From: a@b\r\nSubject: ok\r\n\r\nline\r\n..dot\r\n\r\n";
  const auto r = data(msg + ".\r\n");
  CHECK(r.events == kOpenEvents + "DATA[From: a@b\r\nSubject: ok\r\n\r\nline\r\n.dot\r\n\r\n]\nEND\n");
}

TEST_CASE("after a refused message the session goes on (RSET semantics)") {
  const auto r = data("x\ry\r\n.\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nfine\r\n.\r\n");
  CHECK(r.events == kOpenEvents + "DATA[x]\nABORT\n" + kOpenEvents + "DATA[fine\r\n]\nEND\n");
}

TEST_CASE("size limit and bare CR: whichever comes first in the message decides") {
  // The bare CR at byte 3, the limit at 10: 550.
  auto r = data("abc\rdefghijklmnop\r\n.\r\n", opts(10));
  CHECK(r.events == kOpenEvents + "DATA[abc]\nABORT\n");
  CHECK(after_354(r) == kRefused);
  // The limit at 5, the bare CR at byte 8: 552.
  r = data("abcdefgh\rij\r\n.\r\n", opts(5));
  CHECK(r.events == kOpenEvents + "DATA[abcde]\nABORT\n");
  CHECK(after_354(r) == "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
}

TEST_CASE("DotDecoder: a CR is held back until its next byte; the first bare CR's offset") {
  smtp::DotDecoder d;
  std::string out;
  CHECK(d.decode("ab\r", out) == 3);
  CHECK(out == "ab");  // the CR may still be a CRLF
  CHECK(d.first_bare_cr() == std::string::npos);
  out.clear();
  CHECK(d.decode("x\r\n", out) == 3);
  CHECK(out == "\rx\r\n");
  CHECK(d.first_bare_cr() == 0);
  CHECK(d.bare_cr_count() == 1);
  out.clear();
  d.decode("ok\r\n", out);
  CHECK(d.first_bare_cr() == std::string::npos);  // per decode() call
  CHECK(d.bare_cr_count() == 1);                   // per message
  d.reset();
  CHECK(d.bare_cr_count() == 0);
}
