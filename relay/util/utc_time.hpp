// "2026-11-24T10:01:03Z": the one way the relay writes a point in time for
// people and JSON (`queue list --json`, /blocks).
#pragma once

#include <chrono>
#include <ctime>
#include <string>

namespace xr::relay {

inline std::string utc_seconds(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(std::chrono::floor<std::chrono::seconds>(t));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace xr::relay
