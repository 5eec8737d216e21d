// Property: what the server machine unstuffs from the client machine's
// stuffed encoding is the original message with bare LFs made CRLF (plus the
// CRLF SMTP adds when the message lacks a final one), for random messages rich
// in dots, CRs and LFs; a message with a bare CR is streamed up to it, then
// aborted and refused.
#include "protocols/dot_stuffing.hpp"
#include "protocols/smtp_client.hpp"
#include "protocols/smtp_server.hpp"

#include <doctest/doctest.h>

#include <random>

using namespace xr;

namespace {

std::string random_message(std::mt19937& rng) {
  static constexpr char kAlphabet[] = {'.', '.', '.', '\r', '\n', '\r', '\n', 'a', 'b', ' ', '\0', '\xff'};
  std::uniform_int_distribution<std::size_t> len(0, 300), pick(0, sizeof kAlphabet - 1);
  std::string s(len(rng), ' ');
  for (char& c : s) c = kAlphabet[pick(rng)];
  return s;
}

std::vector<std::string> random_pieces(std::mt19937& rng, const std::string& s) {
  std::vector<std::string> pieces;
  std::uniform_int_distribution<std::size_t> cut(0, 12);
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = std::min(s.size() - i, cut(rng));
    pieces.push_back(s.substr(i, n));
    i += n;
  }
  return pieces;
}

// The client's wire bytes for one message, written in random pieces.
std::string client_encode(const std::vector<std::string>& pieces) {
  smtp::ClientOptions o;
  o.helo_name = "relay.test";
  o.mailbox = "m@x.test";
  o.implicit_tls = true;
  smtp::Client c(o);
  c.set_token("t");
  c.feed("220 hi\r\n250-x\r\n250 AUTH XOAUTH2\r\n235 ok\r\n");
  REQUIRE(c.next() == smtp::ClientEventKind::logged_in);
  c.output().clear();
  for (const auto& p : pieces) c.message_data(p);
  c.message_end();
  return c.output();
}

// The server's unstuffed message from the wire bytes, fed in random pieces.
std::string server_decode(const std::vector<std::string>& wire_pieces, std::string& after, bool& aborted) {
  aborted = false;
  smtp::ServerOptions o;
  o.tls_active = true;
  o.auth_required = false;
  smtp::Server m(o);
  m.start();
  m.feed("EHLO d\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
  for (int i = 0; i < 3; ++i) {
    REQUIRE(m.next() == smtp::EventKind::upstream_command);
    m.complete_command(smtp::make_reply(i < 2 ? 250 : 354, "ok"));
  }
  std::string message;
  std::size_t next_piece = 0;
  for (;;) {
    auto ev = m.next();
    if (ev == smtp::EventKind::message_data) {
      message.append(m.data());
    } else if (ev == smtp::EventKind::message_abort) {
      CHECK_FALSE(aborted);
      aborted = true;
      CHECK(m.message_bare_cr());
    } else if (ev == smtp::EventKind::need_input) {
      if (aborted && m.output().ends_with("550 5.5.2 Error: bare <CR> received\r\n")) break;
      if (next_piece == wire_pieces.size()) {
        FAIL("terminator never seen");
        return message;
      }
      m.feed(wire_pieces[next_piece++]);
    } else {
      REQUIRE(ev == smtp::EventKind::message_end);
      break;
    }
  }
  m.complete_command(smtp::make_reply(250, "queued"));
  m.feed("NOOP\r\n");
  // Bytes after the terminator are commands again.
  while (next_piece < wire_pieces.size()) m.feed(wire_pieces[next_piece++]);
  m.output().clear();
  REQUIRE(m.next() == smtp::EventKind::need_input);
  after = m.output();
  return message;
}

// Bare LF -> CRLF; a CR before an LF makes it a CRLF already.
std::string normalise(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) out += '\r';
    out += s[i];
  }
  return out;
}

}  // namespace

TEST_CASE("round trip: client dot-stuffing, server unstuffing") {
  std::mt19937 rng(20261124);  // fixed seed: failures are reproducible
  for (int i = 0; i < 2000; ++i) {
    const std::string original = random_message(rng);
    const std::string wire = client_encode(random_pieces(rng, original));
    std::string after;
    bool aborted = false;
    const std::string decoded = server_decode(random_pieces(rng, wire), after, aborted);
    const std::string normal = normalise(original);
    std::string expected = normal.empty() || normal.ends_with("\r\n") ? normal : normal + "\r\n";
    std::size_t bare_cr = std::string::npos;
    for (std::size_t k = 0; k < expected.size() && bare_cr == std::string::npos; ++k)
      if (expected[k] == '\r' && (k + 1 == expected.size() || expected[k + 1] != '\n')) bare_cr = k;
    CAPTURE(i);
    CHECK(aborted == (bare_cr != std::string::npos));
    if (aborted) expected.resize(bare_cr);  // streamed up to the bare CR, then refused
    CHECK(decoded.size() == expected.size());
    CHECK((decoded == expected));
    CHECK(after == "250 2.0.0 OK\r\n");  // the NOOP after the message, and nothing else
  }
}

TEST_CASE("DotDecoder stops exactly after the terminator") {
  smtp::DotDecoder d;
  std::string out;
  const std::string wire = "a\r\n.\r\nNEXT";
  CHECK(d.decode(wire, out) == wire.size() - 4);
  CHECK(d.done());
  CHECK(out == "a\r\n");
  d.reset();
  out.clear();
  CHECK(d.decode(".\r\n", out) == 3);
  CHECK(d.done());
  CHECK(out.empty());
}

TEST_CASE("DotDecoder: bare LF becomes CRLF and is counted; \".\\n\" ends the message") {
  smtp::DotDecoder d;
  std::string out;
  const std::string wire = "Subject: x\n\nline\r\n..dot\nlast\n.\nQUIT";
  CHECK(d.decode(wire, out) == wire.size() - 4);
  CHECK(d.done());
  CHECK(out == "Subject: x\r\n\r\nline\r\n.dot\r\nlast\r\n");
  CHECK(d.bare_lf_count() == 5);  // four line ends and the terminator's
  d.reset();
  CHECK(d.bare_lf_count() == 0);
  out.clear();
  // Byte by byte: the same result.
  const std::string split = "a\n.\r\n";
  std::size_t used = 0;
  for (char c : split) used += d.decode(std::string_view(&c, 1), out);
  CHECK(used == split.size());
  CHECK(out == "a\r\n");
  CHECK(d.bare_lf_count() == 1);
}
