#include "protocols/http_connect.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace xr::protocols;
using namespace std::string_literals;

namespace {

struct Outcome {
  ConnectReply status;
  int code;
  std::string reason;
  std::string error;
  std::size_t consumed;  // the head's bytes, summed over feed()
  std::string after;     // rest() plus what the shell had not fed once decided
};

// As the shell does it: feed while undecided; bytes after the head are
// rest() plus whatever it had not fed yet.
Outcome parse_in(const std::vector<std::string>& pieces) {
  ConnectReplyParser p;
  std::size_t consumed = 0;
  std::string later;
  for (const auto& piece : pieces) {
    if (p.status() == ConnectReply::need_more) {
      const auto took = p.feed(piece);
      REQUIRE(took <= piece.size());
      if (p.status() == ConnectReply::need_more) REQUIRE(took == piece.size());
      consumed += took;
    } else {
      later += piece;
    }
  }
  return {p.status(), p.code(), p.reason(), p.error(), consumed, p.rest() + later};
}

// The outcome must not depend on how the answer is cut: whole, byte by
// byte, and in two pieces at every position.
Outcome parse_every_split(const std::string& input) {
  const auto whole = parse_in({input});
  std::vector<std::string> singles;
  for (char c : input) singles.emplace_back(1, c);
  std::vector<std::vector<std::string>> cuts{singles};
  for (std::size_t i = 0; i <= input.size(); ++i) cuts.push_back({input.substr(0, i), input.substr(i)});
  for (const auto& cut : cuts) {
    const auto o = parse_in(cut);
    CAPTURE(input);
    REQUIRE(o.status == whole.status);
    CHECK(o.code == whole.code);
    CHECK(o.reason == whole.reason);
    CHECK(o.error == whole.error);
    REQUIRE(o.consumed == whole.consumed);
    if (whole.status == ConnectReply::established) {
      // Nothing of the tunnel is lost or duplicated: what follows the head
      // is exactly the input after the bytes the parser took.
      CHECK(o.after == whole.after);
      CHECK(o.after == input.substr(o.consumed));
    }
  }
  return whole;
}

}  // namespace

// --- the request ------------------------------------------------------------

TEST_CASE("CONNECT request: authority in the request line and Host, no credentials") {
  auto r = http_connect_request("smtp.office365.com", 587, "");
  REQUIRE(r);
  CHECK(*r == "CONNECT smtp.office365.com:587 HTTP/1.1\r\nHost: smtp.office365.com:587\r\n\r\n");
}

TEST_CASE("CONNECT request: Basic Proxy-Authorization from user:password") {
  auto r = http_connect_request("outlook.office365.com", 993, "relay:s3cr:et");
  REQUIRE(r);
  // base64("relay:s3cr:et"): everything after the first colon is the password.
  CHECK(*r ==
        "CONNECT outlook.office365.com:993 HTTP/1.1\r\nHost: outlook.office365.com:993\r\n"
        "Proxy-Authorization: Basic cmVsYXk6czNjcjpldA==\r\n\r\n");
  // Bytes outside ASCII pass as they are (RFC 7617: UTF-8).
  auto u = http_connect_request("h", 1, "j\xc3\xb6rg:pw");
  REQUIRE(u);
  CHECK(u->find("Proxy-Authorization: Basic asO2cmc6cHc=\r\n") != std::string::npos);
}

TEST_CASE("CONNECT request: IPv6 literals are bracketed once") {
  CHECK(connect_authority("2001:db8::1", 587) == "[2001:db8::1]:587");
  CHECK(connect_authority("[2001:db8::1]", 587) == "[2001:db8::1]:587");
  CHECK(connect_authority("192.0.2.1", 995) == "192.0.2.1:995");
  auto r = http_connect_request("::1", 2525, "");
  REQUIRE(r);
  CHECK(r->starts_with("CONNECT [::1]:2525 HTTP/1.1\r\nHost: [::1]:2525\r\n"));
  auto b = http_connect_request("[::1]", 2525, "");
  REQUIRE(b);
  CHECK(*b == *r);
}

TEST_CASE("CONNECT request: a host that could break the request is refused") {
  for (const auto& h : {""s, "a b"s, "a\r\nX-Evil: 1"s, "a\nb"s, "user@host"s, "host/path"s, "[::1"s, "a\0b"s,
                        std::string(256, 'a')}) {
    CAPTURE(h);
    CHECK_FALSE(http_connect_request(h, 587, ""));
  }
  CHECK_FALSE(http_connect_request("smtp.office365.com", 0, ""));
  CHECK(http_connect_request(std::string(255, 'a'), 1, ""));
  CHECK(http_connect_request("fe80::1%eth0", 1, ""));
}

// --- the answer: established ---------------------------------------------------

TEST_CASE("tinyproxy's 200 opens the tunnel; nothing after it") {
  auto o = parse_every_split("HTTP/1.0 200 Connection established\r\nProxy-agent: tinyproxy/1.11.1\r\n\r\n");
  REQUIRE(o.status == ConnectReply::established);
  CHECK(o.code == 200);
  CHECK(o.reason == "Connection established");
  CHECK(o.after.empty());
}

TEST_CASE("the server's greeting in the same read as the 200 is handed back") {
  const std::string head = "HTTP/1.1 200 Connection established\r\n\r\n";
  auto o = parse_every_split(head + "220 mx.test ESMTP ready\r\n");
  REQUIRE(o.status == ConnectReply::established);
  CHECK(o.consumed == head.size());
  CHECK(o.after == "220 mx.test ESMTP ready\r\n");
  // And rest() itself holds it when one feed brings everything.
  ConnectReplyParser p;
  CHECK(p.feed(head + "* OK IMAP4 ready\r\n") == head.size());
  CHECK(p.rest() == "* OK IMAP4 ready\r\n");
}

TEST_CASE("once decided, feed takes nothing and rest does not grow") {
  ConnectReplyParser p;
  CHECK(p.feed("HTTP/1.1 200 OK\r\n\r\nab") == 19);
  CHECK(p.feed("cd") == 0);
  CHECK(p.rest() == "ab");
  CHECK(p.status() == ConnectReply::established);
}

TEST_CASE("any 2xx opens the tunnel; an empty reason may lack its space") {
  for (const auto* s : {"HTTP/1.1 200\r\n\r\n", "HTTP/1.1 200 \r\n\r\n", "HTTP/1.1 204 No Content\r\n\r\n",
                        "HTTP/1.9 299 x\r\n\r\n"}) {
    CAPTURE(s);
    CHECK(parse_every_split(s).status == ConnectReply::established);
  }
  ConnectReplyParser p;
  p.feed("HTTP/1.1 200\r\n\r\n");
  CHECK(p.status_text() == "200");
}

TEST_CASE("bare LF line ends are accepted") {
  auto o = parse_every_split("HTTP/1.0 200 Connection established\nProxy-agent: x\n\nhello");
  REQUIRE(o.status == ConnectReply::established);
  CHECK(o.after == "hello");
}

TEST_CASE("Content-Length or Transfer-Encoding in a 2xx is ignored: the bytes after the head are the tunnel's") {
  auto o = parse_every_split(
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n+OK POP3 ready\r\n");
  REQUIRE(o.status == ConnectReply::established);
  CHECK(o.after == "+OK POP3 ready\r\n");
}

TEST_CASE("interim 1xx answers are skipped; 101 is not an answer to CONNECT") {
  auto o = parse_every_split("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early\r\nLink: x\r\n\r\n"
                             "HTTP/1.1 200 OK\r\n\r\nX");
  REQUIRE(o.status == ConnectReply::established);
  CHECK(o.code == 200);
  CHECK(o.after == "X");
  // An interim answer followed by a refusal is a refusal.
  auto r = parse_every_split("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 403 Forbidden\r\n\r\n");
  CHECK(r.status == ConnectReply::refused);
  CHECK(r.code == 403);
  auto s = parse_every_split("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n");
  CHECK(s.status == ConnectReply::malformed);
  CHECK(s.error.find("101") != std::string::npos);
}

// --- the answer: refused -----------------------------------------------------------

TEST_CASE("a final non-2xx is a refusal, decided at the end of the status line") {
  struct Case {
    std::string answer;
    int code;
    std::string text;
  };
  for (const auto& c : std::vector<Case>{
           {"HTTP/1.0 403 Access violation\r\nServer: tinyproxy/1.11.1\r\nContent-Type: text/html\r\n\r\n<html>..",
            403, "403 Access violation"},
           {"HTTP/1.1 403 Forbidden\r\n\r\n", 403, "403 Forbidden"},
           {"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\n\r\n", 407,
            "407 Proxy Authentication Required"},
           {"HTTP/1.1 502 Bad Gateway\r\n", 502, "502 Bad Gateway"},
           {"HTTP/1.1 503 Service Unavailable\r\nbroken header line\r\n", 503, "503 Service Unavailable"},
           {"HTTP/1.1 301 Moved\r\n\r\n", 301, "301 Moved"},
           {"HTTP/1.1 500\n", 500, "500"},
       }) {
    CAPTURE(c.answer);
    auto o = parse_every_split(c.answer);
    REQUIRE(o.status == ConnectReply::refused);
    CHECK(o.code == c.code);
    CHECK(o.consumed == c.answer.find('\n') + 1);
    ConnectReplyParser p;
    p.feed(c.answer);
    CHECK(p.status_text() == c.text);
  }
}

TEST_CASE("the reason phrase is sanitised and bounded for the log") {
  auto o = parse_every_split("HTTP/1.1 403 Verboten \xc3\xbc\x01\tx  \r\n\r\n");
  REQUIRE(o.status == ConnectReply::refused);
  CHECK(o.reason == "Verboten ????x");
  const std::string long_reason(300, 'r');
  auto l = parse_every_split("HTTP/1.1 403 " + long_reason + "\r\n");
  REQUIRE(l.status == ConnectReply::refused);
  CHECK(l.reason == std::string(kMaxConnectReasonShown, 'r') + "...");
}

// --- the answer: malformed ----------------------------------------------------------

TEST_CASE("not HTTP: refused at the first byte that cannot start an answer") {
  for (const auto& s : {"220 mx.test ESMTP\r\n"s, "\x15\x03\x01\x00\x02\x02\x28"s, "http/1.1 200 OK\r\n\r\n"s,
                        "HTTP/2 200\r\n\r\n"s, "\r\nHTTP/1.1 200 OK\r\n\r\n"s, "HTTP/1.1"s.substr(0, 4) + "X"}) {
    CAPTURE(s);
    auto o = parse_every_split(s);
    CHECK(o.status == ConnectReply::malformed);
    CHECK(o.error.starts_with("not an HTTP answer"));
  }
  // An SMTP server where the proxy should be: decided at once, not at a deadline.
  ConnectReplyParser p;
  CHECK(p.feed("2") == 1);
  CHECK(p.status() == ConnectReply::malformed);
  CHECK(p.error() == "not an HTTP answer (it starts \"2\")");
}

TEST_CASE("badly shaped status lines are malformed") {
  for (const auto* s : {
           "HTTP/1.1 20 OK\r\n",    // two digits
           "HTTP/1.1 2000 OK\r\n",  // four
           "HTTP/1.1  200 OK\r\n",  // two spaces
           "HTTP/1.x 200 OK\r\n",   // not a minor version
           "HTTP/1.1 200OK\r\n",    // no space before the reason
           "HTTP/1.1 099 x\r\n",    // not a status
           "HTTP/1.1 600 x\r\n",
           "HTTP/1.1\r\n",
           "HTTP/1.1 2a0 x\r\n",
       }) {
    CAPTURE(s);
    auto o = parse_every_split(s);
    CHECK(o.status == ConnectReply::malformed);
    CHECK_FALSE(o.error.empty());
  }
}

TEST_CASE("header rules of a 2xx head") {
  for (const auto* s : {
           "HTTP/1.1 200 OK\r\nVia: 1.1 a\r\n folded\r\n\r\n",  // obsolete folding
           "HTTP/1.1 200 OK\r\n\tfolded\r\n\r\n",
           "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
           "HTTP/1.1 200 OK\r\n: no name\r\n\r\n",
           "HTTP/1.1 200 OK\r\nName : space before colon\r\n\r\n",
           "HTTP/1.1 200 OK\r\nNa(me: x\r\n\r\n",
           "HTTP/1.1 200 OK\r\nName: a\x01z\r\n\r\n",
           "HTTP/1.1 200 OK\r\nName: a\x7fz\r\n\r\n",
       }) {
    CAPTURE(s);
    auto o = parse_every_split(s);
    CHECK(o.status == ConnectReply::malformed);
    CHECK_FALSE(o.error.empty());
  }
  // Tabs and bytes beyond ASCII are allowed in values; empty values too.
  CHECK(parse_every_split("HTTP/1.1 200 OK\r\nX: a\tb \xc3\xa9\r\nY:\r\n\r\n").status == ConnectReply::established);
}

TEST_CASE("a bare CR in the head is malformed") {
  for (const auto* s : {"HTTP/1.1 200 O\rK\r\n\r\n", "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\r\n",
                        "HTTP/1.1 403 Forbidden\r\r\n"}) {
    CAPTURE(s);
    auto o = parse_every_split(s);
    CHECK(o.status == ConnectReply::malformed);
    CHECK(o.error == "a bare CR in the answer's head");
  }
}

TEST_CASE("limits: line length, header count, head size") {
  // A line of exactly kMaxConnectReplyLine bytes with its CRLF passes; one more fails.
  const std::string name = "X-Long: ";
  const std::string ok_line = name + std::string(kMaxConnectReplyLine - name.size() - 2, 'v') + "\r\n";
  REQUIRE(ok_line.size() == kMaxConnectReplyLine);
  CHECK(parse_every_split("HTTP/1.1 200 OK\r\n" + ok_line + "\r\n").status == ConnectReply::established);
  auto too_long = parse_every_split("HTTP/1.1 200 OK\r\n" + name + std::string(kMaxConnectReplyLine, 'v') + "\r\n\r\n");
  CHECK(too_long.status == ConnectReply::malformed);
  CHECK(too_long.error.find("line") != std::string::npos);
  // Without a line end, the parser gives up at the bound instead of waiting.
  ConnectReplyParser p;
  CHECK(p.feed("HTTP/1.1 200 OK\r\nX: " + std::string(2 * kMaxConnectReplyLine, 'v')) ==
        17 + kMaxConnectReplyLine + 1);
  CHECK(p.status() == ConnectReply::malformed);

  std::string headers;
  for (std::size_t i = 0; i < kMaxConnectReplyHeaders; ++i) headers += "H" + std::to_string(i) + ": v\r\n";
  CHECK(parse_every_split("HTTP/1.1 200 OK\r\n" + headers + "\r\n").status == ConnectReply::established);
  auto many = parse_every_split("HTTP/1.1 200 OK\r\n" + headers + "One-More: v\r\n\r\n");
  CHECK(many.status == ConnectReply::malformed);
  CHECK(many.error.find(std::to_string(kMaxConnectReplyHeaders)) != std::string::npos);

  // Header lines within their bounds that add up to more than the head's.
  std::string big;
  for (int i = 0; i < 5; ++i) big += "B" + std::to_string(i) + ": " + std::string(4000, 'b') + "\r\n";
  auto large = parse_every_split("HTTP/1.1 200 OK\r\n" + big + "\r\n");
  CHECK(large.status == ConnectReply::malformed);
  CHECK(large.error.find(std::to_string(kMaxConnectReplyHead)) != std::string::npos);
  CHECK(large.consumed == kMaxConnectReplyHead + 1);
}
