#include "conf/units.hpp"

#include <doctest/doctest.h>

using namespace std::chrono_literals;
using xr::conf::parse_duration;
using xr::conf::parse_size;

TEST_CASE("durations: plain seconds or a unit") {
  CHECK(parse_duration("0") == 0s);
  CHECK(parse_duration("45") == 45s);
  CHECK(parse_duration("30s") == 30s);
  CHECK(parse_duration("5m") == 300s);
  CHECK(parse_duration("1h") == 3600s);
  CHECK(parse_duration("5d") == 5 * 24h);
  CHECK(parse_duration("0d") == 0s);
}

TEST_CASE("durations: days are bounded like every other unit (at most 10 years)") {
  CHECK(parse_duration("3650d") == 3650 * 24h);
  CHECK_FALSE(parse_duration("3651d").has_value());
}

TEST_CASE("durations: anything else is rejected") {
  for (const char* bad : {"", "s", "-5", "5 m", "5min", "5M", "1D", "1 d", "1dd", "1.5d", "1.5h", "5ms", " 5", "5s ", "99999999999h",
                          "999999999999999999999999"}) {
    INFO(bad);
    CHECK_FALSE(parse_duration(bad).has_value());
  }
}

TEST_CASE("sizes: bytes or binary units") {
  CHECK(parse_size("1048576") == 1048576u);
  CHECK(parse_size("512K") == 512u * 1024);
  CHECK(parse_size("35M") == 35u * 1024 * 1024);
  CHECK(parse_size("35MB") == 35u * 1024 * 1024);
  CHECK(parse_size("35MiB") == 35u * 1024 * 1024);
  CHECK(parse_size("1G") == std::size_t(1) << 30);
  CHECK(parse_size("2k") == 2048u);
  CHECK(parse_size("100B") == 100u);
}

TEST_CASE("sizes: anything else is rejected") {
  for (const char* bad : {"", "M", "-1", "35 M", "35T", "1.5M", "35Mi", "35MBB", "35BB", "2000G"}) {
    INFO(bad);
    CHECK_FALSE(parse_size(bad).has_value());
  }
}
