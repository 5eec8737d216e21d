// Reply formatting and the incremental reply parser.
#include "protocols/smtp_reply.hpp"

#include <doctest/doctest.h>

using xr::smtp::make_reply;
using xr::smtp::Reply;
using xr::smtp::ReplyParser;

namespace {

struct Parsed {
  std::vector<Reply> replies;
  std::string error;
  std::size_t leftover = 0;  // bytes not consumed when the feed ended
};

// Feeds `bytes` in pieces of `step`, taking every reply.
Parsed parse_all(std::string_view bytes, std::size_t step, std::size_t max_line = 4096, std::size_t max_lines = 100) {
  Parsed p;
  ReplyParser parser(max_line, max_lines);
  std::string pending;
  for (std::size_t off = 0; off < bytes.size(); off += step) {
    pending.append(bytes.substr(off, step));
    for (;;) {
      std::size_t used = 0;
      auto st = parser.feed(pending, used);
      pending.erase(0, used);
      if (st == ReplyParser::Status::error) {
        p.error = parser.error();
        return p;
      }
      if (st == ReplyParser::Status::need_more) break;
      p.replies.push_back(parser.take());
    }
  }
  p.leftover = pending.size();
  return p;
}

}  // namespace

TEST_CASE("Reply: wire, enhanced, summary") {
  Reply r;
  r.code = 250;
  r.lines = {"relay Hello", "SIZE 10", "8BITMIME"};
  CHECK(r.wire() == "250-relay Hello\r\n250-SIZE 10\r\n250 8BITMIME\r\n");
  CHECK(r.summary() == "250 relay Hello");
  CHECK(r.enhanced().empty());
  CHECK(r.positive());
  CHECK(r.klass() == 2);

  auto e = make_reply(535, "5.7.3 Authentication unsuccessful [AM0PR]");
  CHECK(e.wire() == "535 5.7.3 Authentication unsuccessful [AM0PR]\r\n");
  CHECK(e.enhanced() == "5.7.3");
  CHECK(e.summary() == "535 5.7.3 Authentication unsuccessful [AM0PR]");
  CHECK_FALSE(e.positive());
  CHECK(make_reply(535, "5.7.139 Authentication unsuccessful").enhanced() == "5.7.139");
  CHECK(make_reply(250, "2.0.0").enhanced() == "2.0.0");
  CHECK(make_reply(250, "2.0.0x").enhanced().empty());
  CHECK(make_reply(250, "3.0.0 no such class").enhanced().empty());
  CHECK(make_reply(250, "2.0 short").enhanced().empty());
  CHECK(make_reply(250, "2.1234.0 long").enhanced().empty());
  CHECK(make_reply(334, "").wire() == "334 \r\n");
  CHECK(make_reply(334, "").summary() == "334");
  Reply bare;
  bare.code = 220;
  CHECK(bare.wire() == "220\r\n");
  CHECK(bare.summary() == "220");
}

TEST_CASE("ReplyParser: multi-line, bare code, bare LF, split anywhere") {
  const std::string wire = "250-a\r\n250-b\r\n250 c\r\n220\r\n354 go\n";
  for (std::size_t step = 1; step <= wire.size(); ++step) {
    CAPTURE(step);
    auto p = parse_all(wire, step);
    REQUIRE(p.error.empty());
    REQUIRE(p.replies.size() == 3);
    CHECK(p.replies[0].code == 250);
    CHECK(p.replies[0].lines == std::vector<std::string>{"a", "b", "c"});
    CHECK(p.replies[1].code == 220);
    CHECK(p.replies[1].lines == std::vector<std::string>{""});
    CHECK(p.replies[2].summary() == "354 go");
    CHECK(p.leftover == 0);
  }
}

TEST_CASE("ReplyParser: stops after one reply") {
  ReplyParser parser;
  std::size_t used = 0;
  const std::string two = "250 one\r\n250 two\r\n";
  REQUIRE(parser.feed(two, used) == ReplyParser::Status::reply);
  CHECK(used == 9);
  CHECK(parser.take().summary() == "250 one");
}

TEST_CASE("ReplyParser: errors") {
  CHECK(parse_all("25x ok\r\n", 100).error == "reply line does not start with a 3-digit code");
  CHECK(parse_all("hello\r\n", 100).error == "reply line does not start with a 3-digit code");
  CHECK(parse_all("25\r\n", 100).error == "reply line does not start with a 3-digit code");
  CHECK(parse_all("\r\n", 100).error == "reply line does not start with a 3-digit code");
  CHECK(parse_all("250_x\r\n", 100).error == "reply code not followed by ' ' or '-'");
  CHECK(parse_all("250-a\r\n251 b\r\n", 100).error == "reply code changed between lines of one reply");
  CHECK(parse_all("250 " + std::string(20, 'x') + "\r\n", 3, 10).error == "reply line longer than 10 bytes");
  // Overlong without a line end: refused before buffering it all.
  CHECK(parse_all(std::string(1000, '2'), 7, 10).error == "reply line longer than 10 bytes");
  // Exactly max_line is fine, with CRLF or bare LF.
  CHECK(parse_all("250 " + std::string(6, 'x') + "\r\n", 1, 10).replies.size() == 1);
  CHECK(parse_all("250 " + std::string(6, 'x') + "\n", 1, 10).replies.size() == 1);
  CHECK(parse_all("250-a\r\n250-b\r\n250-c\r\n", 100, 4096, 2).error == "reply has more than 2 lines");
  CHECK(parse_all("250-a\r\n250 b\r\n", 100, 4096, 2).replies.size() == 1);
  // Once failed, it stays failed.
  ReplyParser parser;
  std::size_t used = 0;
  REQUIRE(parser.feed("xyz\r\n", used) == ReplyParser::Status::error);
  CHECK(parser.feed("250 ok\r\n", used) == ReplyParser::Status::error);
}
