// When to try again, and what an upstream reply means for a queued message.
#pragma once

#include "protocols/smtp_reply.hpp"

#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

namespace xr::spool {

// The delay before the next attempt after `failures` failed attempts (1 =
// the first failed): schedule[failures-1], the last step repeating, with up
// to +/-10 % jitter so a backlog does not retry in lock step. The schedule is
// never empty (conf/ guarantees it).
std::chrono::milliseconds retry_delay(const std::vector<std::chrono::seconds>& schedule, std::uint32_t failures,
                                      std::mt19937_64& rng);

enum class Verdict {
  delivered,  // 2xx
  retry,      // 4xx, or Exchange's quota answer (5.2.0 SubmissionQuotaExceeded) despite its 5
  failed,     // any other 5xx: permanent, the recipient(s) get a DSN
};
const char* to_string(Verdict);
Verdict classify(const smtp::Reply& reply);

// Exchange says it is over a per-mailbox limit (concurrency 432 4.3.2, or the
// quota 554 5.2.0 ...SubmissionQuotaExceededException): the whole mailbox
// should pause, not just this message.
bool is_mailbox_throttle(const smtp::Reply& reply);

}  // namespace xr::spool
