#include "protocols/proxy_header.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace xr::proxy;
using namespace std::string_literals;

namespace {

const std::string kSig("\r\n\r\n\0\r\nQUIT\n", 12);

std::string v2(unsigned char ver_cmd, unsigned char fam, const std::string& payload) {
  std::string h = kSig;
  h += char(ver_cmd);
  h += char(fam);
  h += char(payload.size() >> 8);
  h += char(payload.size() & 0xff);
  return h + payload;
}

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s += char(c);
  return s;
}

// 192.0.2.10:51000 -> 198.51.100.1:587
std::string v2_tcp4(const std::string& tlvs = {}) {
  return v2(0x21, 0x11, bytes({192, 0, 2, 10, 198, 51, 100, 1, 0xC7, 0x38, 0x02, 0x4B}) + tlvs);
}

// 2001:db8::5 port 40000 -> 2001:db8::1 port 993
std::string v2_tcp6() {
  std::string src = bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5});
  std::string dst = bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
  return v2(0x21, 0x21, src + dst + bytes({0x9C, 0x40, 0x03, 0xE1}));
}

struct Outcome {
  Status status;
  Source source;
  std::string rest;
  std::string error;
};

// As the shell does it: bytes after the header are rest() plus whatever it
// had not fed yet when the parser said done.
Outcome parse_in(const std::vector<std::string>& pieces) {
  HeaderParser p;
  std::string later;
  for (const auto& piece : pieces) {
    if (p.status() == Status::need_more) p.feed(piece);
    else later += piece;
  }
  return {p.status(), p.source(), p.rest() + later, p.error()};
}

// The outcome must not depend on how the input is cut: whole, byte by byte,
// and in two pieces at every position.
Outcome parse_every_split(const std::string& input) {
  const auto whole = parse_in({input});
  std::vector<std::string> singles;
  for (char c : input) singles.emplace_back(1, c);
  std::vector<std::vector<std::string>> cuts{singles};
  for (std::size_t i = 0; i <= input.size(); ++i) cuts.push_back({input.substr(0, i), input.substr(i)});
  for (const auto& cut : cuts) {
    const auto o = parse_in(cut);
    CAPTURE(input.size());
    REQUIRE(o.status == whole.status);
    if (whole.status != Status::done) continue;
    CHECK(o.source.local == whole.source.local);
    CHECK(o.source.address == whole.source.address);
    CHECK(o.source.port == whole.source.port);
    CHECK(o.rest == whole.rest);
  }
  return whole;
}

}  // namespace

TEST_CASE("v1 TCP4 gives the source; the client's first bytes come back") {
  auto o = parse_every_split("PROXY TCP4 192.0.2.10 198.51.100.1 51000 587\r\nEHLO x\r\n");
  REQUIRE(o.status == Status::done);
  CHECK_FALSE(o.source.local);
  CHECK(o.source.address == "192.0.2.10");
  CHECK(o.source.port == 51000);
  CHECK_FALSE(o.source.v6);
  CHECK(o.source.version == 1);
  CHECK(o.rest == "EHLO x\r\n");
}

TEST_CASE("v1 TCP6 gives the source in canonical text") {
  auto o = parse_every_split("PROXY TCP6 2001:DB8:0:0::5 2001:db8::1 40000 993\r\n");
  REQUIRE(o.status == Status::done);
  CHECK(o.source.address == "2001:db8::5");
  CHECK(o.source.port == 40000);
  CHECK(o.source.v6);
  CHECK(o.rest.empty());
}

TEST_CASE("v1 UNKNOWN means the socket's peer, whatever follows it") {
  for (const auto* h : {"PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"}) {
    auto o = parse_every_split(h + "a1 NOOP\r\n"s);
    REQUIRE(o.status == Status::done);
    CHECK(o.source.local);
    CHECK(o.rest == "a1 NOOP\r\n");
  }
}

TEST_CASE("v1 of exactly 107 bytes passes, 108 fails") {
  // UNKNOWN allows filler up to the line limit.
  const std::string head = "PROXY UNKNOWN ";
  const std::string ok = head + std::string(107 - head.size() - 2, 'x') + "\r\n";
  REQUIRE(ok.size() == kMaxV1Length);
  CHECK(parse_every_split(ok).status == Status::done);
  const std::string too_long = head + std::string(108 - head.size() - 2, 'x') + "\r\n";
  auto o = parse_every_split(too_long);
  CHECK(o.status == Status::error);
  // Without any line end, the parser gives up at the limit instead of waiting.
  HeaderParser p;
  CHECK(p.feed(head + std::string(200, 'x')) == Status::error);
  CHECK(p.error().find("107") != std::string::npos);
}

TEST_CASE("v1 malformed lines are refused") {
  for (const auto* h : {
           "PROXY TCP4 192.0.2.10 198.51.100.1 51000\r\n",          // a field missing
           "PROXY TCP4 192.0.2.10 198.51.100.1 51000 587 x\r\n",    // one too many
           "PROXY TCP4  192.0.2.10 198.51.100.1 51000 587\r\n",     // two spaces
           "PROXY TCP4 2001:db8::5 198.51.100.1 51000 587\r\n",     // v6 in TCP4
           "PROXY TCP6 192.0.2.10 2001:db8::1 51000 587\r\n",       // v4 in TCP6
           "PROXY TCP4 192.0.2.300 198.51.100.1 51000 587\r\n",     // not an address
           "PROXY TCP4 192.0.2.10 198.51.100.1 65536 587\r\n",      // port too large
           "PROXY TCP4 192.0.2.10 198.51.100.1 -1 587\r\n",         // not a number
           "PROXY UDP4 192.0.2.10 198.51.100.1 51000 587\r\n",      // not TCP
           "PROXY TCP4 192.0.2.10 198.51.100.1 51000 587\n",        // bare LF
           "PROXY \r\n",
       }) {
    CAPTURE(h);
    auto o = parse_every_split(h);
    CHECK(o.status == Status::error);
    CHECK_FALSE(o.error.empty());
  }
}

TEST_CASE("garbage is refused at the first byte that cannot start a header") {
  for (const auto* s : {"EHLO x\r\n", "\x16\x03\x01\x02\x00", "proxy TCP4", "PROXX", "\r\n\r\nX"}) {
    CAPTURE(s);
    HeaderParser p;
    CHECK(p.feed(s) == Status::error);
  }
  HeaderParser empty;
  CHECK(empty.feed("") == Status::need_more);
}

TEST_CASE("v2 PROXY TCP4 and TCP6 give the source; TLVs are skipped; trailing bytes kept") {
  auto o4 = parse_every_split(v2_tcp4() + "\x16\x03\x01");
  REQUIRE(o4.status == Status::done);
  CHECK_FALSE(o4.source.local);
  CHECK(o4.source.address == "192.0.2.10");
  CHECK(o4.source.port == 51000);
  CHECK(o4.source.version == 2);
  CHECK(o4.rest == "\x16\x03\x01");

  // A NOOP TLV and an ALPN TLV after the addresses.
  auto t = parse_every_split(v2_tcp4(bytes({0x04, 0x00, 0x02, 0, 0, 0x01, 0x00, 0x02, 'h', '2'})) + "A");
  REQUIRE(t.status == Status::done);
  CHECK(t.source.address == "192.0.2.10");
  CHECK(t.rest == "A");

  auto o6 = parse_every_split(v2_tcp6() + "EHLO x\r\n");
  REQUIRE(o6.status == Status::done);
  CHECK(o6.source.address == "2001:db8::5");
  CHECK(o6.source.port == 40000);
  CHECK(o6.source.v6);
  CHECK(o6.rest == "EHLO x\r\n");
}

TEST_CASE("v2 LOCAL and PROXY/UNSPEC mean the socket's peer") {
  auto local = parse_every_split(v2(0x20, 0x00, "") + "x");
  REQUIRE(local.status == Status::done);
  CHECK(local.source.local);
  CHECK(local.rest == "x");
  // LOCAL with addresses (HAProxy health checks may send them): still local.
  auto local_addr = parse_every_split(v2(0x20, 0x11, bytes({1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2})));
  REQUIRE(local_addr.status == Status::done);
  CHECK(local_addr.source.local);
  auto unspec = parse_every_split(v2(0x21, 0x00, ""));
  REQUIRE(unspec.status == Status::done);
  CHECK(unspec.source.local);
}

TEST_CASE("v2 refusals: version, command, family, short address block, oversize") {
  const std::string a4 = bytes({1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2});
  for (const auto& h : {
           v2(0x11, 0x11, a4),                 // version 1 in the binary form
           v2(0x22, 0x11, a4),                 // command 2
           v2(0x21, 0x12, a4),                 // UDP over IPv4
           v2(0x21, 0x31, std::string(216, 'a')),  // UNIX stream
           v2(0x21, 0x11, a4.substr(0, 11)),   // TCP4 block too short
           v2(0x21, 0x21, std::string(35, 0)),  // TCP6 block too short
           v2(0x21, 0x11, a4 + std::string(kMaxV2Payload, 0)),  // past the bound
       }) {
    auto o = parse_every_split(h);
    CHECK(o.status == Status::error);
  }
  // The bound is judged from the length field, before the bytes arrive.
  HeaderParser p;
  CHECK(p.feed(kSig + bytes({0x21, 0x11, 0xff, 0xff})) == Status::error);
  // A signature that goes wrong midway.
  HeaderParser q;
  CHECK(q.feed(kSig.substr(0, 6)) == Status::need_more);
  CHECK(q.feed("X") == Status::error);
}

TEST_CASE("truncated headers wait for more") {
  for (const auto& h : {"PROXY TCP4 192.0.2.10 198.51.100.1 51000 587\r\n"s, v2_tcp4(), v2_tcp6()}) {
    for (std::size_t n = 1; n < h.size(); ++n) {
      HeaderParser p;
      CAPTURE(n);
      CHECK(p.feed(h.substr(0, n)) == Status::need_more);
    }
  }
}

TEST_CASE("after done or error, further bytes are not looked at") {
  HeaderParser p;
  REQUIRE(p.feed("PROXY UNKNOWN\r\nab") == Status::done);
  CHECK(p.feed("cd") == Status::done);
  CHECK(p.rest() == "ab");
  HeaderParser q;
  REQUIRE(q.feed("GET /") == Status::error);
  CHECK(q.feed("PROXY UNKNOWN\r\n") == Status::error);
}
