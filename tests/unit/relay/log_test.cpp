#include "relay/log.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <string>

using xr::conf::LogFormat;
using xr::conf::LogLevel;
using xr::relay::Logger;

namespace {

std::string after_timestamp(const std::string& line) { return line.substr(line.find(' ') + 1); }

}  // namespace

TEST_CASE("text lines: level, session, event, then fields in the order given") {
  Logger log(stdout);
  auto line = log.format(LogLevel::info, "abc123", "auth_ok", {{"user", "scanner01"}, {"check_ms", 24}});
  CHECK(after_timestamp(line) == "info session=abc123 event=auth_ok user=scanner01 check_ms=24");
  // ISO 8601 UTC with milliseconds
  CHECK(line.size() > 24);
  CHECK(line[10] == 'T');
  CHECK(line[23] == 'Z');
}

TEST_CASE("text values with spaces, quotes or control characters are quoted and escaped") {
  Logger log(stdout);
  auto line = log.format(LogLevel::warn, "", "x", {{"reply", "535 5.7.3 Auth \"failed\""}, {"evil", "a\nfake=line"}, {"empty", ""}});
  CHECK(after_timestamp(line) ==
        R"(warn event=x reply="535 5.7.3 Auth \"failed\"" evil="a\nfake=line" empty="")");
  CHECK(line.find('\n') == std::string::npos);
}

TEST_CASE("json lines are one object with escaped strings") {
  Logger log(stdout);
  log.configure(LogLevel::debug, LogFormat::json);
  auto line = log.format(LogLevel::error, "s1", "token_failed", {{"error", "a\"b\\c\x01"}});
  CHECK(line.find(R"("level":"error","session":"s1","event":"token_failed","error":"a\"b\\c\u0001"})") !=
        std::string::npos);
  CHECK(line.front() == '{');
  CHECK(line.back() == '}');
}

TEST_CASE("levels above the configured one are dropped") {
  char* buf = nullptr;
  size_t len = 0;
  FILE* mem = open_memstream(&buf, &len);
  {
    Logger log(mem);
    log.configure(LogLevel::warn, LogFormat::text);
    CHECK_FALSE(log.enabled(LogLevel::info));
    CHECK(log.enabled(LogLevel::error));
    log.info("", "hidden", {});
    log.warn("", "shown", {});
  }
  fclose(mem);
  std::string out(buf, len);
  free(buf);
  CHECK(out.find("hidden") == std::string::npos);
  CHECK(out.find("event=shown") != std::string::npos);
}
