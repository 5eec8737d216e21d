#include "spool/pacer.hpp"
#include "spool/retry.hpp"

#include <doctest/doctest.h>

using namespace xr;
using namespace xr::spool;
using namespace std::chrono_literals;

TEST_CASE("retry_delay follows the schedule, repeats the last step, jitters within 10 %") {
  std::vector<std::chrono::seconds> schedule{60s, 120s, 300s};
  std::mt19937_64 rng(42);
  auto within = [&](std::uint32_t failures, std::chrono::milliseconds base) {
    std::chrono::milliseconds lo = base, hi = base;
    for (int i = 0; i < 2000; ++i) {
      auto d = retry_delay(schedule, failures, rng);
      CHECK(d >= base * 9 / 10);
      CHECK(d <= base * 11 / 10);
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    // Jitter really happens, in both directions.
    CHECK(lo < base * 97 / 100);
    CHECK(hi > base * 103 / 100);
  };
  within(1, 60s);
  within(2, 120s);
  within(3, 300s);
  within(4, 300s);
  within(1000, 300s);
  within(0, 60s);  // treated as the first
}

TEST_CASE("classify") {
  CHECK(classify(smtp::make_reply(250, "2.0.0 OK <id@prod.outlook.com>")) == Verdict::delivered);
  CHECK(classify(smtp::make_reply(451, "4.4.2 timeout")) == Verdict::retry);
  CHECK(classify(smtp::make_reply(432, "4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded")) ==
        Verdict::retry);
  CHECK(classify(smtp::make_reply(421, "4.3.2 Service not available")) == Verdict::retry);
  CHECK(classify(smtp::make_reply(550, "5.1.1 User unknown")) == Verdict::failed);
  CHECK(classify(smtp::make_reply(554, "5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException")) ==
        Verdict::failed);
  const auto quota = smtp::make_reply(
      554,
      "5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message due to a "
      "permanent exception with message [BeginDiagnosticData]Cannot submit message.");
  CHECK(classify(quota) == Verdict::retry);
  CHECK(classify(smtp::make_reply(354, "go ahead")) == Verdict::retry);  // no verdict: keep it
  CHECK(classify(smtp::Reply{}) == Verdict::retry);
  CHECK(std::string(to_string(Verdict::failed)) == "failed");

  CHECK(is_mailbox_throttle(smtp::make_reply(432, "4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded")));
  CHECK(is_mailbox_throttle(quota));
  CHECK_FALSE(is_mailbox_throttle(smtp::make_reply(451, "4.4.2 timeout")));
  CHECK_FALSE(is_mailbox_throttle(smtp::make_reply(421, "4.3.2 Service not available, closing")));
  CHECK_FALSE(is_mailbox_throttle(smtp::make_reply(550, "5.1.1 User unknown")));
}

TEST_CASE("Pacer: 30 per minute; the 31st waits until the first is a minute old") {
  using Clock = Pacer::Clock;
  Pacer p(30);
  const Clock::time_point t0 = Clock::time_point() + 1000h;
  for (int i = 0; i < 30; ++i) {
    auto now = t0 + i * 1s;
    CHECK(p.next_allowed(now) <= now);
    p.record(now);
  }
  const auto now = t0 + 30s;
  CHECK(p.next_allowed(now) == t0 + 60s);
  CHECK(p.next_allowed(t0 + 60s) <= t0 + 60s);
  p.record(t0 + 60s);
  CHECK(p.next_allowed(t0 + 60s) == t0 + 61s);  // now the second is the oldest
  // Lowering the rate on reload keeps the history.
  p.set_rate(10);
  CHECK(p.rate() == 10);
  CHECK(p.next_allowed(t0 + 61s) == t0 + 81s);  // the 10th newest start (t0+21s) + 60 s
}

TEST_CASE("Pacer: pause_until holds everything back, and only extends") {
  using Clock = Pacer::Clock;
  Pacer p(30);
  const Clock::time_point t0 = Clock::time_point() + 1000h;
  p.pause_until(t0 + 90s);
  CHECK(p.next_allowed(t0) == t0 + 90s);
  p.pause_until(t0 + 10s);
  CHECK(p.next_allowed(t0) == t0 + 90s);
  CHECK(p.next_allowed(t0 + 100s) == t0 + 100s);
}
