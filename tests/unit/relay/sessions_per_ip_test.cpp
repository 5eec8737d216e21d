#include "relay/session/sessions_per_ip.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

using namespace xr::relay;
using xr::conf::IpAddress;

namespace {
IpAddress ip(const char* s) { return IpAddress::parse(s).value(); }
}  // namespace

TEST_CASE("per-IP sessions: up to the limit, then refused; a release frees a place") {
  SessionsPerIp reg;
  std::vector<SessionsPerIp::Token> held;
  for (int i = 0; i < 3; ++i) {
    auto t = reg.try_enter(ip("192.0.2.1"), 3);
    REQUIRE(t);
    held.push_back(std::move(*t));
  }
  CHECK(reg.count(ip("192.0.2.1")) == 3);
  CHECK_FALSE(reg.try_enter(ip("192.0.2.1"), 3));
  // Another address is counted on its own; IPv4-mapped is the same address.
  CHECK(reg.try_enter(ip("192.0.2.2"), 3));
  CHECK_FALSE(reg.try_enter(ip("::ffff:192.0.2.1"), 3));
  held.pop_back();
  CHECK(reg.count(ip("192.0.2.1")) == 2);
  CHECK(reg.try_enter(ip("192.0.2.1"), 3));
}

TEST_CASE("per-IP sessions: limit 0 means no limit; empty entries are dropped") {
  SessionsPerIp reg;
  {
    std::vector<SessionsPerIp::Token> held;
    for (int i = 0; i < 100; ++i) held.push_back(std::move(*reg.try_enter(ip("2001:db8::1"), 0)));
    CHECK(reg.count(ip("2001:db8::1")) == 100);
  }
  CHECK(reg.count(ip("2001:db8::1")) == 0);
  CHECK(reg.addresses() == 0);
  // A token dropped at once leaves no entry behind.
  CHECK(reg.try_enter(ip("2001:db8::2"), 1));
  CHECK(reg.addresses() == 0);
}

TEST_CASE("per-IP sessions: a moved-from token does not uncount twice") {
  SessionsPerIp reg;
  auto t = reg.try_enter(ip("192.0.2.9"), 2);
  REQUIRE(t);
  {
    SessionsPerIp::Token moved(std::move(*t));
    t.reset();
    CHECK(reg.count(ip("192.0.2.9")) == 1);
  }
  CHECK(reg.count(ip("192.0.2.9")) == 0);
}

TEST_CASE("per-IP sessions: threads entering and leaving never pass the limit") {
  SessionsPerIp reg;
  constexpr std::size_t kLimit = 5;
  std::atomic<std::size_t> inside{0}, worst{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        auto tok = reg.try_enter(ip("198.51.100.7"), kLimit);
        if (!tok) {
          ++refused;
          continue;
        }
        auto now = ++inside;
        auto w = worst.load();
        while (now > w && !worst.compare_exchange_weak(w, now)) {
        }
        --inside;
      }
    });
  for (auto& t : threads) t.join();
  CHECK(worst.load() <= kLimit);
  CHECK(reg.addresses() == 0);
}

TEST_CASE("per-IP sessions: IPv6 sources are counted per /64, as the auth throttle counts them") {
  SessionsPerIp reg;
  auto a = reg.try_enter(ip("2001:db8:1:2::1"), 2);
  auto b = reg.try_enter(ip("2001:db8:1:2:ffff::7"), 2);
  REQUIRE(a);
  REQUIRE(b);
  // A third address in the same /64 is the same host: refused.
  CHECK_FALSE(reg.try_enter(ip("2001:db8:1:2::99"), 2));
  CHECK(reg.count(ip("2001:db8:1:2::abcd")) == 2);
  CHECK(reg.addresses() == 1);
  // The next /64 is another source.
  CHECK(reg.try_enter(ip("2001:db8:1:3::1"), 2));
  a.reset();
  CHECK(reg.count(ip("2001:db8:1:2::1")) == 1);
  b.reset();
  CHECK(reg.addresses() == 0);
}
