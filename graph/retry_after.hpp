// Graph's Retry-After header (429 and 503): delay-seconds or an HTTP-date
// (RFC 9110 10.2.3), as a wait from `now`.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace xr::graph {

// The longest wait taken from a server: a bogus header must not park a
// message (or a mailbox's queue) for days.
inline constexpr std::chrono::seconds kMaxRetryAfter{3600};

// nullopt: absent or unreadable (the caller's own schedule applies). A date in
// the past is 0 s; anything longer than kMaxRetryAfter is cut to it.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now);

}  // namespace xr::graph
