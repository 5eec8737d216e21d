// protocols/secret.hpp: strings that held passwords, AUTH lines or tokens
// are overwritten in all the storage they own, not just up to size().
#include "protocols/line_reader.hpp"
#include "protocols/secret.hpp"

#include <doctest/doctest.h>

#include <string>

using xr::append_wiping;
using xr::erase_front_wiping;
using xr::wipe_secret;

TEST_CASE("wipe_secret zeroes the whole buffer, including bytes past size() from a longer old value") {
  std::string s(200, 'p');
  s.resize(10);  // 190 stale bytes of the old value stay in the buffer
  const char* p = s.data();
  const std::size_t cap = s.capacity();
  wipe_secret(s);
  CHECK(s.empty());
  REQUIRE(s.data() == p);
  for (std::size_t i = 0; i < cap; ++i) CHECK(p[i] == '\0');
}

TEST_CASE("wipe_secret on a short (inline) string") {
  std::string s = "pw";
  const char* p = s.data();
  const std::size_t cap = s.capacity();
  wipe_secret(s);
  for (std::size_t i = 0; i < cap; ++i) CHECK(p[i] == '\0');
}

TEST_CASE("erase_front_wiping keeps the rest and zeroes the stale tail it leaves behind") {
  std::string s = "AUTH PLAIN AHVzZXIAc2VjcmV0\r\nNOOP\r\n";
  const std::size_t old_size = s.size();
  const char* p = s.data();
  erase_front_wiping(s, 29);
  CHECK(s == "NOOP\r\n");
  REQUIRE(s.data() == p);
  for (std::size_t i = s.size(); i < old_size; ++i) CHECK(p[i] == '\0');
}

TEST_CASE("append_wiping appends, growing when needed") {
  std::string s;
  std::string expected;
  for (int i = 0; i < 200; ++i) {
    std::string part(std::size_t(i % 7 + 1), char('a' + i % 26));
    append_wiping(s, part);
    expected += part;
  }
  CHECK(s == expected);
  std::string big(100000, 'x');
  append_wiping(s, big);
  CHECK(s == expected + big);
}

TEST_CASE("LineReader, whose consumed bytes are wiped, still splits lines and literals fed a byte at a time") {
  xr::LineReader r(100);
  std::string input = "a001 LOGIN user secret\r\nsecond\n{3}abcrest\r\n";
  // Fed a byte at a time, as the protocol tests do.
  for (char c : input) r.feed(std::string_view(&c, 1));
  std::string line;
  REQUIRE(r.next(line) == xr::LineReader::Status::line);
  CHECK(line == "a001 LOGIN user secret");
  REQUIRE(r.next(line) == xr::LineReader::Status::line);
  CHECK(line == "second");
  std::string lit;
  std::string prefix;
  CHECK(r.take_bytes(prefix, 3) == 3);
  CHECK(prefix == "{3}");
  CHECK(r.take_bytes(lit, 3) == 3);
  CHECK(lit == "abc");
  REQUIRE(r.next(line) == xr::LineReader::Status::line);
  CHECK(line == "rest");
  CHECK(r.empty());
}
