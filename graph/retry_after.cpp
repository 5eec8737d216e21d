// Only the IMF-fixdate form of HTTP-date ("Sun, 06 Nov 1994 08:49:37 GMT")
// is read: RFC 9110 makes senders use it, and Graph and Azure front doors do.
#include "graph/retry_after.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>

namespace xr::graph {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

std::optional<std::chrono::system_clock::time_point> parse_imf_fixdate(std::string_view s) {
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  // "Sun, 06 Nov 1994 08:49:37 GMT": exactly 29 characters.
  if (s.size() != 29 || s[3] != ',' || s.substr(26) != "GMT") return std::nullopt;
  const std::string text(s);
  char month[4] = {};
  int day = 0, year = 0, hour = 0, minute = 0, second = 0, used = 0;
  if (std::sscanf(text.c_str() + 5, "%2d %3s %4d %2d:%2d:%2d GMT%n", &day, month, &year, &hour, &minute, &second,
                  &used) != 6 ||
      used != 24)
    return std::nullopt;
  int mon = -1;
  for (std::size_t i = 0; i < kMonths.size(); ++i)
    if (std::strcmp(month, kMonths[i]) == 0) mon = static_cast<int>(i);
  if (mon < 0 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60 || year < 1970) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const std::time_t t = ::timegm(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(t);
}

}  // namespace

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    // Digits beyond what the cap needs are all "too long".
    if (value.size() > 9) return kMaxRetryAfter;
    return std::min(std::chrono::seconds(std::stoll(std::string(value))), kMaxRetryAfter);
  }
  auto when = parse_imf_fixdate(value);
  if (!when) return std::nullopt;
  if (*when <= now) return std::chrono::seconds(0);
  // Round up: retrying a fraction of a second early is retrying too soon.
  auto wait = std::chrono::ceil<std::chrono::seconds>(*when - now);
  return std::min(wait, kMaxRetryAfter);
}

}  // namespace xr::graph
