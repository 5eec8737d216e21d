// What one delivery attempt means for a queue entry: which recipients are
// done, whether the entry is removed, retried (when), or decided for good
// (failed recipients or max_age: a DSN, then removal). Pure: the relay's
// delivery engine does the I/O, this decides.
#pragma once

#include "spool/delivery_state.hpp"
#include "spool/dsn.hpp"
#include "spool/envelope.hpp"
#include "spool/retry.hpp"

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace xr::spool {

struct RcptResult {
  std::size_t index = 0;  // into Envelope::rcpts
  Verdict verdict = Verdict::retry;
  std::string reply;      // the upstream reply that decided it
};

struct AttemptReport {
  // Verdicts for the recipients that got one in this attempt; recipients
  // without one stay pending.
  std::vector<RcptResult> rcpts;
  // A failure of the whole attempt (no token, connection refused or lost,
  // login refused, expired before trying): every pending recipient stays
  // pending. Empty when the attempt reached a verdict.
  std::string error;
  std::string final_reply;  // Office 365's last word on the message, for the log ("-" if none)
  // Exchange said the mailbox is over a limit (is_mailbox_throttle): the
  // whole lane pauses, not just this message.
  bool throttled = false;
};

enum class Next {
  remove,  // every recipient delivered: unlink, done
  retry,   // recipients pending: state written, next attempt scheduled
  final,   // decided with failures (or expired): state written final, DSN, unlink
};

struct Decision {
  Next next = Next::retry;
  DeliveryState state;  // the state to write (retry, final)
  std::string outcome;  // for the log and metrics: delivered | retry | failed | expired
  std::vector<FailedRecipient> failed;  // final: every failed recipient, for the DSN
};

struct RetryRules {
  std::vector<std::chrono::seconds> schedule;  // never empty
  std::chrono::seconds max_age{0};
};

// The deadline after which pending recipients fail (Unix ms).
std::int64_t expiry_ms(const Envelope& env, const RetryRules& rules);

Decision decide(const Envelope& env, DeliveryState state, const AttemptReport& report, std::int64_t now_ms,
                const RetryRules& rules, std::mt19937_64& rng);

// The failed recipients recorded in a state (for an entry recovered final).
std::vector<FailedRecipient> failed_recipients(const Envelope& env, const DeliveryState& state);

}  // namespace xr::spool
