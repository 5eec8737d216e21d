// Retry-After: delay-seconds and IMF-fixdate, capped, past dates 0.
#include "graph/retry_after.hpp"

#include <doctest/doctest.h>

using namespace xr::graph;
using namespace std::chrono;

namespace {
// Sun, 06 Dec 2026 10:00:00 GMT
const system_clock::time_point kNow = sys_days(year(2026) / December / day(6)) + hours(10);
}  // namespace

TEST_CASE("retry-after: seconds") {
  CHECK(parse_retry_after("30", kNow) == seconds(30));
  CHECK(parse_retry_after(" 0 ", kNow) == seconds(0));
  CHECK(parse_retry_after("7200", kNow) == kMaxRetryAfter);
  CHECK(parse_retry_after("99999999999999999999", kNow) == kMaxRetryAfter);
}

TEST_CASE("retry-after: HTTP-date, relative to now, rounded up") {
  CHECK(parse_retry_after("Sun, 06 Dec 2026 10:00:45 GMT", kNow) == seconds(45));
  CHECK(parse_retry_after("Sun, 06 Dec 2026 10:00:45 GMT", kNow + milliseconds(500)) == seconds(45));
  CHECK(parse_retry_after("Sun, 06 Dec 2026 09:00:00 GMT", kNow) == seconds(0));
  CHECK(parse_retry_after("Mon, 07 Dec 2026 10:00:00 GMT", kNow) == kMaxRetryAfter);
}

TEST_CASE("retry-after: absent or unreadable gives nothing") {
  CHECK_FALSE(parse_retry_after("", kNow));
  CHECK_FALSE(parse_retry_after("-5", kNow));
  CHECK_FALSE(parse_retry_after("1.5", kNow));
  CHECK_FALSE(parse_retry_after("soon", kNow));
  CHECK_FALSE(parse_retry_after("Sun, 06 Dex 2026 10:00:45 GMT", kNow));
  CHECK_FALSE(parse_retry_after("Sunday, 06-Dec-26 10:00:45 GMT", kNow));
  CHECK_FALSE(parse_retry_after("Sun, 06 Dec 2026 25:00:45 GMT", kNow));
}
