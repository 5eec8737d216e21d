#include "spool/attempt_outcome.hpp"

#include <doctest/doctest.h>

using namespace xr::spool;
using namespace std::chrono_literals;

namespace {

Envelope envelope_with(std::size_t rcpts) {
  Envelope e;
  e.id = "0123456789ABCDEF0123";
  e.received_ms = 1'000'000;
  e.mailbox = "scanner@contoso.com";
  e.mail_from = "scanner@contoso.com";
  for (std::size_t i = 0; i < rcpts; ++i) e.rcpts.push_back({"r" + std::to_string(i) + "@fabrikam.com", ""});
  return e;
}

RetryRules rules() { return {{60s, 120s}, 3600s}; }

}  // namespace

TEST_CASE("every recipient delivered: the entry is removed") {
  std::mt19937_64 rng(1);
  auto env = envelope_with(2);
  AttemptReport r;
  r.rcpts = {{0, Verdict::delivered, "250 2.0.0 OK"}, {1, Verdict::delivered, "250 2.0.0 OK"}};
  auto d = decide(env, {}, r, env.received_ms + 10, rules(), rng);
  CHECK(d.next == Next::remove);
  CHECK(d.outcome == "delivered");
  CHECK(d.state.attempts == 1);
}

TEST_CASE("a failed attempt is retried on the schedule, within max_age") {
  std::mt19937_64 rng(1);
  auto env = envelope_with(1);
  AttemptReport r;
  r.error = "connection lost at MAIL: reset";
  const auto now = env.received_ms + 1000;
  auto d = decide(env, {}, r, now, rules(), rng);
  CHECK(d.next == Next::retry);
  CHECK(d.outcome == "retry");
  CHECK(d.state.last_error == r.error);
  CHECK(d.state.next_attempt_ms >= now + 54'000);
  CHECK(d.state.next_attempt_ms <= now + 66'000);
  CHECK(d.state.rcpt(0) == RcptStatus::pending);

  // Close to max_age the next attempt is the deadline itself.
  const auto late = expiry_ms(env, rules()) - 5000;
  auto d2 = decide(env, d.state, r, late, rules(), rng);
  CHECK(d2.next == Next::retry);
  CHECK(d2.state.next_attempt_ms == expiry_ms(env, rules()));
  CHECK(d2.state.attempts == 2);
}

TEST_CASE("partial delivery keeps the delivered recipients out of the next attempt") {
  std::mt19937_64 rng(1);
  auto env = envelope_with(3);
  AttemptReport r;
  r.rcpts = {{0, Verdict::delivered, "250 OK"}, {1, Verdict::retry, "451 4.4.0 later"},
             {2, Verdict::failed, "550 5.1.10 RESOLVER.ADR.RecipientNotFound"}};
  auto d = decide(env, {}, r, env.received_ms + 1, rules(), rng);
  REQUIRE(d.next == Next::retry);
  CHECK(d.state.rcpt(0) == RcptStatus::delivered);
  CHECK(d.state.rcpt(1) == RcptStatus::pending);
  CHECK(d.state.rcpt(2) == RcptStatus::failed);
  CHECK(d.state.last_error == "451 4.4.0 later");

  // The pending one is delivered later: the failure is reported then.
  AttemptReport r2;
  r2.rcpts = {{1, Verdict::delivered, "250 OK"}};
  auto d2 = decide(env, d.state, r2, env.received_ms + 70'000, rules(), rng);
  CHECK(d2.next == Next::final);
  CHECK(d2.outcome == "failed");
  REQUIRE(d2.failed.size() == 1);
  CHECK(d2.failed[0].address == "r2@fabrikam.com");
  CHECK(d2.failed[0].status == "5.1.10");
  CHECK(d2.failed[0].diagnostic == "550 5.1.10 RESOLVER.ADR.RecipientNotFound");
  CHECK(d2.state.final);
}

TEST_CASE("past max_age pending recipients fail as expired (4.4.7)") {
  std::mt19937_64 rng(1);
  auto env = envelope_with(2);
  DeliveryState st;
  st.set_rcpt(0, 2, RcptStatus::delivered, "250 OK");
  AttemptReport r;
  r.error = "no token: AADSTS7000215";
  auto d = decide(env, st, r, expiry_ms(env, rules()), rules(), rng);
  CHECK(d.next == Next::final);
  CHECK(d.outcome == "expired");
  CHECK(d.state.expired);
  REQUIRE(d.failed.size() == 1);
  CHECK(d.failed[0].address == "r1@fabrikam.com");
  CHECK(d.failed[0].status == "4.4.7");
  CHECK(d.failed[0].diagnostic.empty());
  // What recovery sees in the state file gives the same DSN.
  auto again = failed_recipients(env, d.state);
  REQUIRE(again.size() == 1);
  CHECK(again[0].status == "4.4.7");
}

TEST_CASE("a verdict for a recipient already decided changes nothing") {
  std::mt19937_64 rng(1);
  auto env = envelope_with(1);
  DeliveryState st;
  st.set_rcpt(0, 1, RcptStatus::delivered, "250 OK");
  AttemptReport r;
  r.rcpts = {{0, Verdict::failed, "550 no"}, {7, Verdict::failed, "550 out of range"}};
  auto d = decide(env, st, r, env.received_ms + 1, rules(), rng);
  CHECK(d.next == Next::remove);
}
