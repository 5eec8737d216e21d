// The admin endpoint's /blocks: the brute-force throttle's blocks in force,
// as JSON for scripts and people alike:
//   {"blocks":[{"scope":"ip","key":"192.0.2.7","until":"2026-12-05T21:30:00Z","failures":10}]}
#pragma once

#include "auth/auth_throttle.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace xr::relay {

// `now` turns the blocks' remaining time into an RFC 3339 UTC time.
std::string blocks_json(const std::vector<auth::ThrottleBlock>& blocks, std::chrono::system_clock::time_point now);

}  // namespace xr::relay
