// The first-line sniffer: which protocol a client speaks, the same verdict
// however the bytes are split, and nothing past the command word kept.
#include "protocols/protocol_sniff.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using xr::sniff::FirstLine;
using xr::sniff::Spoken;

namespace {

struct Verdict {
  Spoken spoken;
  std::string seen;
  bool done;
};

Verdict run(const std::vector<std::string_view>& pieces) {
  FirstLine f;
  for (auto p : pieces) f.feed(p);
  return {f.spoken(), f.seen(), f.done()};
}

// Whole, byte by byte, and cut at every offset: all must agree.
Verdict sniff(std::string_view line) {
  const Verdict whole = run({line});
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < line.size(); ++i) bytes.push_back(line.substr(i, 1));
  auto same = [&](const Verdict& v) {
    CHECK(v.spoken == whole.spoken);
    CHECK(v.seen == whole.seen);
    CHECK(v.done == whole.done);
  };
  same(run(bytes));
  for (std::size_t cut = 1; cut < line.size(); ++cut) {
    CAPTURE(cut);
    same(run({line.substr(0, cut), line.substr(cut)}));
  }
  return whole;
}

}  // namespace

TEST_CASE("sniff: SMTP, POP3 and IMAP first lines") {
  auto v = sniff("EHLO printer-3f\r\n");
  CHECK(v.done);
  CHECK(v.spoken == Spoken::smtp);
  CHECK(v.seen == "EHLO");
  CHECK(sniff("helo mfp\r\n").spoken == Spoken::smtp);
  CHECK(sniff("helo mfp\r\n").seen == "HELO");
  CHECK(sniff("STARTTLS\r\n").spoken == Spoken::smtp);
  CHECK(sniff("MAIL FROM:<a@b>\r\n").spoken == Spoken::smtp);

  v = sniff("USER scanner01\r\n");
  CHECK(v.spoken == Spoken::pop3);
  CHECK(v.seen == "USER");
  CHECK(sniff("CAPA\r\n").spoken == Spoken::pop3);
  CHECK(sniff("capa\n").seen == "CAPA");
  CHECK(sniff("STLS\r\n").spoken == Spoken::pop3);

  v = sniff("a1 LOGIN scanner01 secret-password\r\n");
  CHECK(v.spoken == Spoken::imap);
  CHECK(v.seen == "a1 LOGIN");
  v = sniff("A0001 capability\r\n");
  CHECK(v.spoken == Spoken::imap);
  CHECK(v.seen == "A0001 CAPABILITY");
  CHECK(sniff("1 STARTTLS\r\n").spoken == Spoken::imap);
  CHECK(sniff("x  AUTHENTICATE XOAUTH2\r\n").spoken == Spoken::imap);
}

TEST_CASE("sniff: a TLS ClientHello is recognised by its first byte") {
  const std::string hello("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
  const auto v = sniff(hello);
  CHECK(v.done);
  CHECK(v.spoken == Spoken::tls);
  CHECK(v.seen == "TLS ClientHello");
  // Only as the very first byte.
  CHECK(sniff(std::string("EHLO \x16\r\n", 8)).spoken == Spoken::smtp);
}

TEST_CASE("sniff: lines that fit several protocols, or none, say unknown") {
  for (std::string_view line : {"QUIT\r\n", "NOOP\r\n", "AUTH PLAIN AGFsaWNlAHB3\r\n", "RSET\r\n", "\r\n",
                                " EHLO x\r\n", "a1\r\n", "a1 FETCH 1 BODY[]\r\n", "GET / HTTP/1.1\r\n",
                                "averyveryverylongwordthatisnocommand x\r\n", "a1 averyveryverylongcommandname\r\n",
                                "\x01\x02\r\n"}) {
    CAPTURE(line);
    const auto v = sniff(line);
    CHECK(v.done);
    CHECK(v.spoken == Spoken::unknown);
  }
  CHECK(sniff("QUIT\r\n").seen == "QUIT");
  CHECK(sniff("a1 FETCH 1 BODY[]\r\n").seen.empty());
}

TEST_CASE("sniff: nothing after the command word is kept, even unfinished") {
  // Not done until the line ends or a verdict is possible.
  CHECK_FALSE(sniff("EHL").done);
  CHECK_FALSE(sniff("a1 LOG").done);
  // Decided at the end of the verb: the password after it is never read.
  FirstLine f;
  f.feed("PASS ");
  CHECK(f.done());
  CHECK(f.seen() == "PASS");
  f.feed("secret\r\n");
  CHECK(f.seen() == "PASS");
  FirstLine g;
  g.feed("a1 LOGIN ");
  CHECK(g.done());
  g.feed("user password\r\n");
  CHECK(g.seen() == "a1 LOGIN");
  // Only the first line counts.
  FirstLine h;
  h.feed("x\r\nEHLO y\r\n");
  CHECK(h.spoken() == Spoken::unknown);
}

TEST_CASE("wrong_protocol: only a protocol other than the listener's, TLS only where plaintext is expected") {
  auto first = [](std::string_view line) {
    FirstLine f;
    f.feed(line);
    return f;
  };
  using xr::sniff::wrong_protocol;
  CHECK(wrong_protocol(Spoken::imap, true, first("EHLO x\r\n")) == Spoken::smtp);
  CHECK(wrong_protocol(Spoken::pop3, false, first("EHLO x\r\n")) == Spoken::smtp);
  CHECK(wrong_protocol(Spoken::smtp, true, first("EHLO x\r\n")) == Spoken::unknown);
  CHECK(wrong_protocol(Spoken::smtp, true, first("a1 LOGIN u p\r\n")) == Spoken::imap);
  CHECK(wrong_protocol(Spoken::smtp, true, first("USER u\r\n")) == Spoken::pop3);
  CHECK(wrong_protocol(Spoken::imap, true, first("CAPA\r\n")) == Spoken::pop3);
  CHECK(wrong_protocol(Spoken::pop3, true, first("CAPA\r\n")) == Spoken::unknown);
  CHECK(wrong_protocol(Spoken::pop3, true, first("a1 CAPABILITY\r\n")) == Spoken::imap);
  CHECK(wrong_protocol(Spoken::smtp, true, first("\x16\x03\x01")) == Spoken::tls);
  CHECK(wrong_protocol(Spoken::smtp, false, first("\x16\x03\x01")) == Spoken::unknown);
  CHECK(wrong_protocol(Spoken::smtp, true, first("QUIT\r\n")) == Spoken::unknown);
  CHECK(wrong_protocol(Spoken::imap, true, first("EHL")) == Spoken::unknown);  // not decided yet
  CHECK(std::string(xr::sniff::to_string(Spoken::pop3)) == "pop3");
}
