// A sliding one-minute window of submission starts: the N+1st start waits
// until the oldest of the last N is a minute old.
#include "spool/pacer.hpp"

#include <algorithm>

namespace xr::spool {
namespace {
constexpr auto kWindow = std::chrono::seconds(60);
}

Pacer::Pacer(std::size_t per_minute) : per_minute_(per_minute) {}

void Pacer::set_rate(std::size_t per_minute) { per_minute_ = per_minute; }

Pacer::Clock::time_point Pacer::next_allowed(Clock::time_point now) {
  while (!starts_.empty() && starts_.front() + kWindow <= now) starts_.pop_front();
  Clock::time_point at = now;
  // 0 = no limit (pacing off).
  if (per_minute_ > 0 && starts_.size() >= per_minute_) at = starts_[starts_.size() - per_minute_] + kWindow;
  return std::max(at, paused_until_);
}

void Pacer::record(Clock::time_point now) {
  starts_.push_back(now);
  while (!starts_.empty() && starts_.front() + kWindow <= now) starts_.pop_front();
}

void Pacer::pause_until(Clock::time_point until) { paused_until_ = std::max(paused_until_, until); }

}  // namespace xr::spool
