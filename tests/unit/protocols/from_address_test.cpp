// The From: address as a mail reader sees it: comments, quoted strings and
// display names never pass for the address; lists and groups are not one.
#include "protocols/from_address.hpp"

#include <doctest/doctest.h>

using xr::smtp::FromAddress;
using xr::smtp::parse_from_address;
using K = FromAddress::Kind;

namespace {

std::string one(std::string_view value) {
  const auto r = parse_from_address(value);
  CAPTURE(value);
  CHECK(r.kind == K::one);
  return r.address;
}

K kind(std::string_view value) { return parse_from_address(value).kind; }

}  // namespace

TEST_CASE("a bare address, a name-addr, folding white space, comments") {
  CHECK(one("a@b.example") == "a@b.example");
  CHECK(one("Name <a@b.example>") == "a@b.example");
  CHECK(one("\"Scanner 3F\" <scanner@printer.local>") == "scanner@printer.local");
  CHECK(one("  Name\t \t<a@b.example>  ") == "a@b.example");
  CHECK(one("(comment) a@b.example (another (nested) one)") == "a@b.example");
  CHECK(one("<a@b.example>") == "a@b.example");
  CHECK(one("a.b.c@d.example") == "a.b.c@d.example");
  CHECK(one("=?utf-8?q?J=C3=BCrgen?= <j@b.example>") == "j@b.example");
  CHECK(one("Dr. J. Smith <j@b.example>") == "j@b.example");  // obs-phrase dots
  CHECK(one("scanner@x <scanner@x>") == "scanner@x");         // an unquoted "@" in the name
  CHECK(one("a@[192.0.2.1]") == "a@[192.0.2.1]");
  CHECK(one("jürgen@b.example") == "jürgen@b.example");  // RFC 6532
}

TEST_CASE("display names and comments never count") {
  CHECK(one("\"allowed@y.example\" <ceo@x.example>") == "ceo@x.example");
  CHECK(one("ceo@x.example (allowed@y.example)") == "ceo@x.example");
  CHECK(one("(allowed@y.example) ceo@x.example") == "ceo@x.example");
  CHECK(one("allowed@y.example <ceo@x.example>") == "ceo@x.example");
  CHECK(one("\"<allowed@y.example>\" <ceo@x.example>") == "ceo@x.example");
  CHECK(one("(<allowed@y.example>) <ceo@x.example>") == "ceo@x.example");
  CHECK(one("=?utf-8?q?allowed=40y.example?= <ceo@x.example>") == "ceo@x.example");
}

TEST_CASE("quoted local parts: unquoted when plain, kept quoted otherwise") {
  CHECK(one("\"allowed\"@y.example") == "allowed@y.example");
  CHECK(one("\"a.b\"@y.example") == "a.b@y.example");
  CHECK(one("\"allowed@y.example\"@x.example") == "\"allowed@y.example\"@x.example");
  CHECK(one("\"a b\"@x.example") == "\"a b\"@x.example");
  CHECK(one("\"a\\\"b\"@x.example") == "\"a\\\"b\"@x.example");
}

TEST_CASE("several addresses: lists and groups") {
  CHECK(kind("ceo@x.example, <allowed@y.example>") == K::several);
  CHECK(kind("<allowed@y.example>, ceo@x.example") == K::several);
  CHECK(kind("A <a@x.example>, B <b@y.example>") == K::several);
  CHECK(kind("Doe, John <john@x.example>") == K::several);
  CHECK(kind("friends: allowed@y.example;") == K::several);
  CHECK(kind("friends: allowed@y.example, ceo@x.example;") == K::several);
  CHECK(kind("undisclosed-recipients:;") == K::several);
  // A comma in a comment or a quoted string is not a list.
  CHECK(one("\"Doe, John\" <john@x.example>") == "john@x.example");
  CHECK(one("john@x.example (Doe, John)") == "john@x.example");
  // Empty list elements (obs-mbox-list) are not addresses.
  CHECK(one("john@x.example,") == "john@x.example");
}

TEST_CASE("no address") {
  CHECK(kind("") == K::none);
  CHECK(kind("   ") == K::none);
  CHECK(kind("(just a comment)") == K::none);
  CHECK(kind("<>") == K::none);
  CHECK(kind("Name <>") == K::none);
}

TEST_CASE("not RFC 5322: never guessed at") {
  for (const char* v : {"ceo@x.example <allowed@y.example> tail", "<allowed@y.example> ceo@x.example",
                        "<a@x.example> <b@y.example>", "Name <a@x.example", "Name a@x.example>",
                        "\"unterminated <a@x.example>", "(unterminated <a@x.example>", "a@b@c.example",
                        "a@", "@b.example", "a", "a..b@c.example", ".a@c.example", "a.@c.example",
                        "a@b..example", "a@.b", "a@b.", "<@relay.example:a@b.example>",
                        "<@r1,@r2:a@b.example>", "a@b.example)", "a\\b@c.example", "a@[1.2.3.4",
                        "a@[[1]]", "<<a@b.example>>", "a@b.example\x01", "Name <a@b.example> (c) d"}) {
    CAPTURE(v);
    CHECK(kind(v) == K::invalid);
  }
}

TEST_CASE("the angle position lets a rewrite keep the display name") {
  const std::string v = "\"Scanner 3F\" <scanner@printer.local>";
  CHECK(parse_from_address(v).angle == v.find('<'));
  CHECK(parse_from_address("a@b.example").angle == std::string_view::npos);
}
