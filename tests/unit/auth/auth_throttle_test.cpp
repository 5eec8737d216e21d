#include "auth/auth_throttle.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace xr;
using auth::AuthThrottle;
using auth::ThrottleVerdict;
using namespace std::chrono_literals;

namespace {

conf::IpAddress ip(const char* text) { return *conf::IpAddress::parse(text); }

conf::Limits limits(std::size_t per_ip, std::size_t per_user, std::chrono::seconds window = 600s,
                    std::chrono::seconds block = 900s) {
  conf::Limits l;
  l.auth_failures_per_ip = per_ip;
  l.auth_failures_per_user = per_user;
  l.auth_failure_window = window;
  l.auth_block_time = block;
  return l;
}

// A clock the test moves by hand.
struct FakeClock {
  AuthThrottle::Clock::time_point t{std::chrono::hours(1000)};
  AuthThrottle::Now fn() {
    return [this] { return t; };
  }
};

void fail(AuthThrottle& th, const char* source, const std::string& user, int times) {
  for (int i = 0; i < times; ++i) th.record_failure(ip(source), user);
}

// One more failure, then what the next attempt from there hears.
ThrottleVerdict fail_then_check(AuthThrottle& th, const char* source, const std::string& user) {
  th.record_failure(ip(source), user);
  return th.check(ip(source), user);
}

}  // namespace

TEST_CASE("a source is blocked at auth_failures_per_ip failures, for auth_block_time") {
  FakeClock clock;
  AuthThrottle th(limits(3, 100, 600s, 60s), {}, clock.fn());
  fail(th, "192.0.2.7", "a", 1);
  fail(th, "192.0.2.7", "b", 1);
  CHECK(th.check(ip("192.0.2.7"), "c").ok());
  auto v = fail_then_check(th, "192.0.2.7", "c");
  CHECK(v.kind == ThrottleVerdict::blocked_ip);
  CHECK(v.retry_after == 60s);
  CHECK(th.check(ip("192.0.2.7"), "anyone").kind == ThrottleVerdict::blocked_ip);
  CHECK(th.check_source(ip("192.0.2.7")).kind == ThrottleVerdict::blocked_ip);
  CHECK(th.check(ip("192.0.2.8"), "a").ok());  // another source is not affected
  clock.t += 59s + 500ms;
  CHECK(th.check_source(ip("192.0.2.7")).retry_after == 1s);  // rounded up
  clock.t += 500ms;
  CHECK(th.check(ip("192.0.2.7"), "a").ok());
  // The count started again with the block: one more failure does not re-block.
  CHECK(fail_then_check(th, "192.0.2.7", "a").ok());
}

TEST_CASE("failures older than auth_failure_window are not counted") {
  FakeClock clock;
  AuthThrottle th(limits(3, 100, 10s), {}, clock.fn());
  fail(th, "192.0.2.7", "a", 2);
  clock.t += 10s;
  CHECK(fail_then_check(th, "192.0.2.7", "a").ok());
  CHECK(fail_then_check(th, "192.0.2.7", "a").ok());
  clock.t += 5s;
  CHECK(fail_then_check(th, "192.0.2.7", "a").kind == ThrottleVerdict::blocked_ip);
}

TEST_CASE("a user name is blocked after auth_failures_per_user failures from all sources") {
  FakeClock clock;
  AuthThrottle th(limits(100, 4, 600s, 30s), {*conf::Cidr::parse("10.0.0.0/8")}, clock.fn());
  fail(th, "192.0.2.1", "printer", 1);
  fail(th, "192.0.2.2", "printer", 1);
  fail(th, "198.51.100.3", "printer", 1);
  CHECK(th.check(ip("203.0.113.4"), "printer").ok());
  auto v = fail_then_check(th, "203.0.113.4", "printer");
  CHECK(v.kind == ThrottleVerdict::blocked_user);
  CHECK(v.retry_after == 30s);
  CHECK(th.check(ip("203.0.113.99"), "printer").kind == ThrottleVerdict::blocked_user);
  CHECK(th.check(ip("203.0.113.99"), "other").ok());
  CHECK(th.check_source(ip("203.0.113.4")).ok());  // the sources themselves are not blocked
  // The printer VLAN still gets in: guessing cannot lock it out.
  CHECK(th.check(ip("10.1.2.3"), "printer").ok());
  clock.t += 30s;
  CHECK(th.check(ip("203.0.113.99"), "printer").ok());
}

TEST_CASE("trusted sources are neither counted nor blocked") {
  FakeClock clock;
  AuthThrottle th(limits(2, 2), {*conf::Cidr::parse("10.0.0.0/8")}, clock.fn());
  fail(th, "10.0.0.5", "printer", 50);
  CHECK(th.check(ip("10.0.0.5"), "printer").ok());
  CHECK(th.check(ip("192.0.2.1"), "printer").ok());  // nor do they count against the name
  CHECK(th.keys() == 0);
  CHECK(th.blocks().empty());
}

TEST_CASE("a count of 0 turns that scope off") {
  FakeClock clock;
  AuthThrottle th(limits(0, 2), {}, clock.fn());
  fail(th, "192.0.2.7", "a", 1);
  fail(th, "192.0.2.7", "b", 5);
  CHECK(th.check_source(ip("192.0.2.7")).ok());
  CHECK(th.check(ip("192.0.2.7"), "b").kind == ThrottleVerdict::blocked_user);
  SUBCASE("and a reload that sets it to 0 lifts its blocks") {
    th.set_limits(limits(0, 0), {});
    CHECK(th.check(ip("192.0.2.7"), "b").ok());
    CHECK(th.blocks().empty());
  }
  SUBCASE("a reload that adds the source to trusted_networks exempts it at once") {
    th.set_limits(limits(0, 2), {*conf::Cidr::parse("192.0.2.0/24")});
    CHECK(th.check(ip("192.0.2.7"), "b").ok());
    CHECK(th.check(ip("198.51.100.1"), "b").kind == ThrottleVerdict::blocked_user);
  }
}

TEST_CASE("a success forgets only this source's failures for this user name") {
  FakeClock clock;
  AuthThrottle th(limits(3, 3), {}, clock.fn());
  SUBCASE("the device's own typos are forgiven") {
    fail(th, "192.0.2.7", "printer", 2);
    th.record_success(ip("192.0.2.7"), "printer");
    fail(th, "192.0.2.7", "printer", 2);
    CHECK(th.check(ip("192.0.2.7"), "printer").ok());
  }
  SUBCASE("a real device logging in does not reset an attacker's count for its name") {
    fail(th, "203.0.113.9", "printer", 1);
    fail(th, "203.0.113.10", "printer", 1);
    th.record_success(ip("192.0.2.7"), "printer");
    CHECK(fail_then_check(th, "203.0.113.11", "printer").kind == ThrottleVerdict::blocked_user);
  }
  SUBCASE("an attacker with one valid account does not reset its own source's count") {
    fail(th, "203.0.113.9", "ceo", 1);
    fail(th, "203.0.113.9", "cfo", 1);
    th.record_success(ip("203.0.113.9"), "intern");
    CHECK(fail_then_check(th, "203.0.113.9", "cto").kind == ThrottleVerdict::blocked_ip);
  }
}

TEST_CASE("IPv6 sources are counted per /64") {
  FakeClock clock;
  AuthThrottle th(limits(2, 100), {}, clock.fn());
  fail(th, "2001:db8:1:2::1", "a", 1);
  fail(th, "2001:db8:1:2:ffff::7", "a", 1);
  CHECK(th.check_source(ip("2001:db8:1:2::99")).kind == ThrottleVerdict::blocked_ip);
  CHECK(th.check_source(ip("2001:db8:1:3::1")).ok());
  auto b = th.blocks();
  REQUIRE(b.size() == 1);
  CHECK(b[0].key == "2001:db8:1:2::/64");
}

TEST_CASE("blocks() lists the blocks in force with their failures and time left") {
  FakeClock clock;
  AuthThrottle th(limits(2, 3, 600s, 100s), {}, clock.fn());
  fail(th, "192.0.2.7", "x", 1);
  fail(th, "192.0.2.8", "printer", 2);
  fail(th, "192.0.2.9", "printer", 1);
  clock.t += 40s;
  auto b = th.blocks();
  REQUIRE(b.size() == 2);
  CHECK(b[0].scope == auth::ThrottleScope::ip);
  CHECK(b[0].key == "192.0.2.8");
  CHECK(b[0].failures == 2);
  CHECK(b[0].remaining == 60s);
  CHECK(b[1].scope == auth::ThrottleScope::user);
  CHECK(b[1].key == "printer");
  CHECK(b[1].failures == 3);
  CHECK(std::string(auth::to_string(b[1].scope)) == "user");
  clock.t += 60s;
  CHECK(th.blocks().empty());
}

TEST_CASE("memory stays bounded under a flood of distinct sources and user names") {
  FakeClock clock;
  AuthThrottle::Caps caps;
  caps.max_keys = 100;
  caps.max_failures_kept = 5;
  AuthThrottle th(limits(10, 10), {}, clock.fn(), caps);
  // A real block first: a flood of fresh names must not wash it out.
  fail(th, "198.51.100.1", "printer", 10);
  for (int i = 0; i < 5000; ++i) {
    const std::string source = "10." + std::to_string(i / 65536 % 256) + "." + std::to_string(i / 256 % 256) +
                               "." + std::to_string(i % 256);
    th.record_failure(ip(source.c_str()), "nobody-" + std::to_string(i));
    clock.t += 1ms;
  }
  CHECK(th.keys() <= 200);
  CHECK(th.check_source(ip("198.51.100.1")).kind == ThrottleVerdict::blocked_ip);
  CHECK(th.check(ip("203.0.113.1"), "printer").kind == ThrottleVerdict::blocked_user);
  SUBCASE("a very long user name costs a bounded key") {
    const std::string huge(4000, 'u');
    fail(th, "203.0.113.50", huge, 10);
    CHECK(th.check(ip("203.0.113.51"), huge).kind == ThrottleVerdict::blocked_user);
    bool listed = false;
    for (const auto& b : th.blocks()) {
      CHECK(b.key.size() <= 256);
      listed = listed || b.key.starts_with("uuuu");
    }
    CHECK(listed);
  }
  SUBCASE("more failures than kept are still counted") {
    AuthThrottle big(limits(12, 100), {}, clock.fn(), caps);
    fail(big, "192.0.2.1", "a", 11);
    CHECK(big.check_source(ip("192.0.2.1")).ok());
    CHECK(fail_then_check(big, "192.0.2.1", "a").kind == ThrottleVerdict::blocked_ip);
  }
  SUBCASE("entries leave once their failures leave the window") {
    clock.t += 601s;
    fail(th, "192.0.2.200", "fresh", 1);
    CHECK(th.keys() <= 4);  // the two blocks (until 900 s) and the fresh pair
  }
}

TEST_CASE("failures counted while a block is in force do not extend it") {
  FakeClock clock;
  AuthThrottle th(limits(2, 100, 600s, 60s), {}, clock.fn());
  fail(th, "192.0.2.7", "a", 2);
  clock.t += 30s;
  // A check that was already on the blocking pool when the block started.
  auto v = fail_then_check(th, "192.0.2.7", "a");
  CHECK(v.kind == ThrottleVerdict::blocked_ip);
  CHECK(v.retry_after == 30s);
  auto b = th.blocks();
  REQUIRE(b.size() == 1);
  CHECK(b[0].failures == 3);
}
