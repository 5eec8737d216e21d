// Per-mailbox pacing: at most N message submissions in any 60-second window
// (Exchange Online: 30 per minute per mailbox), plus a pause when Exchange
// says the mailbox is throttled. Not thread-safe; one per mailbox, used by the
// relay's delivery engine on one thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>

namespace xr::spool {

class Pacer {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Pacer(std::size_t per_minute);

  void set_rate(std::size_t per_minute);  // reload; keeps the history
  std::size_t rate() const { return per_minute_; }

  // The earliest time a submission may start (<= now: at once).
  Clock::time_point next_allowed(Clock::time_point now);
  // A submission starts now (call after next_allowed(now) <= now).
  void record(Clock::time_point now);
  // No submission before `until` (throttled by Exchange).
  void pause_until(Clock::time_point until);

 private:
  std::size_t per_minute_;
  std::deque<Clock::time_point> starts_;  // within the last minute
  Clock::time_point paused_until_{};
};

}  // namespace xr::spool
