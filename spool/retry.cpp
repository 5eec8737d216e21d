// The retry schedule and what Office 365's replies mean for a queued message.
#include "spool/retry.hpp"

#include <algorithm>

namespace xr::spool {
namespace {

// Exchange's per-mailbox submission quota (per minute or per day). It comes
// as 554 5.2.0, but it passes: retrying later is right, bouncing is not.
bool is_quota_answer(const smtp::Reply& reply) {
  if (reply.klass() != 5) return false;
  for (const auto& line : reply.lines)
    if (line.find("SubmissionQuotaExceeded") != std::string::npos) return true;
  return false;
}

}  // namespace

std::chrono::milliseconds retry_delay(const std::vector<std::chrono::seconds>& schedule, std::uint32_t failures,
                                      std::mt19937_64& rng) {
  // conf/ never gives an empty schedule; a minute is a safe answer if it did.
  if (schedule.empty()) return std::chrono::minutes(1);
  const std::size_t step = std::min<std::size_t>(std::max<std::uint32_t>(failures, 1) - 1, schedule.size() - 1);
  const std::int64_t base = std::chrono::duration_cast<std::chrono::milliseconds>(schedule[step]).count();
  std::uniform_int_distribution<std::int64_t> jitter(-base / 10, base / 10);
  return std::chrono::milliseconds(std::max<std::int64_t>(0, base + jitter(rng)));
}

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::delivered: return "delivered";
    case Verdict::retry: return "retry";
    case Verdict::failed: return "failed";
  }
  return "retry";
}

Verdict classify(const smtp::Reply& reply) {
  if (reply.klass() == 2) return Verdict::delivered;
  if (reply.klass() == 5 && !is_quota_answer(reply)) return Verdict::failed;
  // 4xx, the quota answer, and anything that is no final answer at all (a
  // 3xx or garbage where a verdict belongs): never lose the message.
  return Verdict::retry;
}

bool is_mailbox_throttle(const smtp::Reply& reply) {
  // 432 4.3.2 "STOREDRV.ClientSubmit; sender thread limit exceeded": too many
  // concurrent connections for the mailbox.
  if (reply.code == 432 || (reply.klass() == 4 && reply.enhanced() == "4.3.2" && reply.code != 421)) return true;
  return is_quota_answer(reply);
}

}  // namespace xr::spool
