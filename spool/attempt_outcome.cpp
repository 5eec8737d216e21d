#include "spool/attempt_outcome.hpp"

#include <algorithm>

namespace xr::spool {
namespace {

// "550 5.1.10 Recipient not found" -> "5.1.10"; a reply without an enhanced
// code gets the class's generic one.
std::string status_of(const std::string& reply, bool expired) {
  if (expired) return "4.4.7";
  auto sp = reply.find(' ');
  if (sp != std::string::npos) {
    auto rest = reply.substr(sp + 1);
    auto end = rest.find(' ');
    auto code = rest.substr(0, end);
    if (code.size() >= 5 && (code[0] == '4' || code[0] == '5') && code[1] == '.') return code;
  }
  return "5.0.0";
}

constexpr const char* kExpired = "expired";  // RcptState::reply marker set at max_age

}  // namespace

std::int64_t expiry_ms(const Envelope& env, const RetryRules& rules) {
  return env.received_ms + std::chrono::duration_cast<std::chrono::milliseconds>(rules.max_age).count();
}

std::vector<FailedRecipient> failed_recipients(const Envelope& env, const DeliveryState& state) {
  std::vector<FailedRecipient> out;
  for (std::size_t i = 0; i < env.rcpts.size(); ++i) {
    if (state.rcpt(i) != RcptStatus::failed) continue;
    const auto& reply = state.rcpts[i].reply;
    const bool expired = reply.rfind(kExpired, 0) == 0;
    out.push_back({env.rcpts[i].address, status_of(reply, expired),
                   expired ? std::string() : reply});
  }
  return out;
}

Decision decide(const Envelope& env, DeliveryState state, const AttemptReport& report, std::int64_t now_ms,
                const RetryRules& rules, std::mt19937_64& rng) {
  const std::size_t n = env.rcpts.size();
  std::string retry_reply;
  for (const auto& r : report.rcpts) {
    if (r.index >= n || state.rcpt(r.index) != RcptStatus::pending) continue;
    switch (r.verdict) {
      case Verdict::delivered: state.set_rcpt(r.index, n, RcptStatus::delivered, r.reply); break;
      case Verdict::failed: state.set_rcpt(r.index, n, RcptStatus::failed, r.reply); break;
      case Verdict::retry: retry_reply = r.reply; break;
    }
  }
  state.attempts += 1;
  state.last_attempt_ms = now_ms;
  if (!report.error.empty()) state.last_error = report.error;
  else if (!retry_reply.empty()) state.last_error = retry_reply;
  else if (!report.final_reply.empty() && report.final_reply != "-") state.last_error = report.final_reply;

  std::size_t pending = 0, failed = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (state.rcpt(i) == RcptStatus::pending) ++pending;
    if (state.rcpt(i) == RcptStatus::failed) ++failed;
  }

  Decision d;
  if (pending == 0 && failed == 0) {
    d.next = Next::remove;
    d.outcome = "delivered";
    d.state = std::move(state);
    return d;
  }
  const auto deadline = expiry_ms(env, rules);
  if (pending > 0 && now_ms >= deadline) {
    // max_age: what is still pending fails now (RFC 3464 4.4.7).
    for (std::size_t i = 0; i < n; ++i)
      if (state.rcpt(i) == RcptStatus::pending)
        state.set_rcpt(i, n, RcptStatus::failed,
                       std::string(kExpired) + " (last error: " +
                           (state.last_error.empty() ? "none" : state.last_error) + ")");
    state.expired = true;
    pending = 0;
  }
  if (pending == 0) {
    state.final = true;
    d.next = Next::final;
    d.outcome = state.expired ? "expired" : "failed";
    d.failed = failed_recipients(env, state);
    d.state = std::move(state);
    return d;
  }
  auto delay = retry_delay(rules.schedule, state.attempts, rng);
  state.next_attempt_ms = std::min(now_ms + delay.count(), deadline);
  d.next = Next::retry;
  d.outcome = "retry";
  d.state = std::move(state);
  return d;
}

}  // namespace xr::spool
