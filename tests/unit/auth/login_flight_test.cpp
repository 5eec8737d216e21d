// Single flight in the login cache: concurrent logins with the same user and
// password cost one yescrypt; a wrong password is never shared as success.
// The followers here wait on a std::promise in their own thread, standing in
// for the relay's parked session coroutine.
#include "auth/access_policy.hpp"
#include "auth/password.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

using namespace xr;
using namespace xr::auth;
using namespace std::chrono_literals;

namespace {

const std::string& printer_hash() {
  static const std::string h = hash_password("printer secret");
  return h;
}

conf::Config config() {
  conf::Config cfg;
  conf::User u;
  u.name = "printer";
  u.password_hash = printer_hash();
  u.tenant = "contoso";
  u.mailbox = "printer@contoso.com";
  u.protocols = {conf::Protocol::smtp};
  cfg.users.emplace(u.name, u);
  return cfg;
}

conf::IpAddress source() { return *conf::IpAddress::parse("192.0.2.7"); }

// What check_login_throttled does, minus Asio: join, wait if following,
// check, finish if leading.
LoginDecision login(const conf::Config& cfg, LoginCache& cache, const std::string& password) {
  auto key = login_flight_key(cfg, cache, "printer", password);
  bool leader = false;
  if (key) {
    auto woken = std::make_shared<std::promise<void>>();
    auto done = woken->get_future();
    leader = cache.join(*key, [woken] { woken->set_value(); });
    if (!leader) done.wait();
  }
  auto d = check_login(cfg, cache, "printer", password, source(), conf::Protocol::smtp);
  if (leader) cache.finish(*key);
  return d;
}

struct Outcomes {
  std::atomic<int> granted{0}, verified{0}, cached{0};
};

void run_concurrently(int n, const conf::Config& cfg, LoginCache& cache, const std::string& password, Outcomes& o) {
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&] {
      ++ready;
      while (ready.load() < n) std::this_thread::yield();  // start together
      auto d = login(cfg, cache, password);
      if (d.grant) ++o.granted;
      (d.cached ? o.cached : o.verified)++;
    });
  for (auto& t : threads) t.join();
}

}  // namespace

TEST_CASE("single flight: one leader per key, followers woken once by finish") {
  LoginCache cache(300s);
  const auto k1 = cache.key("printer", "a", "h");
  const auto k2 = cache.key("printer", "b", "h");
  CHECK(k1 != k2);
  int woken = 0;
  CHECK(cache.join(k1, [] {}));                       // leads
  CHECK_FALSE(cache.join(k1, [&] { ++woken; }));      // follows
  CHECK_FALSE(cache.join(k1, [&] { ++woken; }));
  CHECK(cache.join(k2, [] {}));                       // another key: its own flight
  CHECK(cache.flights() == 2);
  CHECK(woken == 0);
  cache.finish(k1);
  CHECK(woken == 2);
  CHECK(cache.flights() == 1);
  cache.finish(k1);  // nothing in flight: no-op
  CHECK(woken == 2);
  CHECK(cache.join(k1, [] {}));  // the flight is over: the next login leads again
  cache.finish(k1);
  cache.finish(k2);
  CHECK(cache.flights() == 0);
}

TEST_CASE("single flight: concurrent joins from many threads elect exactly one leader") {
  LoginCache cache(300s);
  const auto k = cache.key("u", "p", "h");
  constexpr int n = 16;
  std::atomic<int> leaders{0}, woken{0}, ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&] {
      ++ready;
      while (ready.load() < n) std::this_thread::yield();
      if (cache.join(k, [&] { ++woken; })) ++leaders;
    });
  for (auto& t : threads) t.join();
  CHECK(leaders == 1);
  CHECK(woken == 0);
  cache.finish(k);
  CHECK(woken == n - 1);
}

TEST_CASE("single flight: 12 concurrent logins with the right password cost one yescrypt") {
  const auto cfg = config();
  LoginCache cache(300s);
  Outcomes o;
  run_concurrently(12, cfg, cache, "printer secret", o);
  CHECK(o.granted == 12);
  CHECK(o.verified == 1);
  CHECK(o.cached == 11);
  CHECK(cache.flights() == 0);
}

TEST_CASE("single flight: a wrong password is never shared as success") {
  const auto cfg = config();
  LoginCache cache(300s);
  Outcomes o;
  run_concurrently(6, cfg, cache, "wrong", o);
  CHECK(o.granted == 0);
  CHECK(o.cached == 0);
  CHECK(o.verified == 6);  // each follower verified (and is refused) itself
  // And the right password after them is verified, not taken from anything
  // the wrong ones left behind.
  auto d = check_login(cfg, cache, "printer", "printer secret", source(), conf::Protocol::smtp);
  CHECK(d.grant);
  CHECK_FALSE(d.cached);
}

TEST_CASE("single flight: no key for an unknown user or a disabled cache") {
  const auto cfg = config();
  LoginCache on(300s), off(0s);
  CHECK(login_flight_key(cfg, on, "printer", "x"));
  CHECK_FALSE(login_flight_key(cfg, on, "nobody", "x"));
  CHECK_FALSE(login_flight_key(cfg, off, "printer", "x"));
  CHECK(*login_flight_key(cfg, on, "printer", "x") == on.key("printer", "x", printer_hash()));
}
