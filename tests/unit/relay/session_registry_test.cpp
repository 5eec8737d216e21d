#include "relay/session_registry.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace xr::relay;

namespace {

std::shared_ptr<const ConfigSnapshot> snapshot() { return std::make_shared<ConfigSnapshot>(); }

}  // namespace

TEST_CASE("config_changed posts the new snapshot to every listed session, on its executor") {
  net::io_context io;
  SessionRegistry reg;
  std::vector<std::shared_ptr<const ConfigSnapshot>> a, b;
  auto ta = reg.add(io.get_executor(), [](StopPhase) {}, [&](auto s) { a.push_back(s); });
  auto tb = reg.add(io.get_executor(), [](StopPhase) {}, [&](auto s) { b.push_back(s); });
  auto tc = reg.add(io.get_executor(), [](StopPhase) {});  // ignores reloads
  auto snap = snapshot();
  reg.config_changed(snap);
  CHECK(a.empty());  // posted, not called inline (the caller is the main context)
  io.run();
  CHECK(a == std::vector{snap});
  CHECK(b == std::vector{snap});
}

TEST_CASE("a session listed after a reload hears of the newest snapshot at once") {
  net::io_context io;
  SessionRegistry reg;
  std::vector<std::shared_ptr<const ConfigSnapshot>> got;
  auto before = reg.add(io.get_executor(), [](StopPhase) {}, [&](auto s) { got.push_back(s); });
  io.run();
  CHECK(got.empty());  // no reload yet: nothing to hear
  auto snap = snapshot();
  reg.config_changed(snap);
  io.restart();
  io.run();
  CHECK(got == std::vector{snap});
  got.clear();
  auto late = reg.add(io.get_executor(), [](StopPhase) {}, [&](auto s) { got.push_back(s); });
  io.restart();
  io.run();
  CHECK(got == std::vector{snap});
}

TEST_CASE("a session unlisted before the post runs is not called") {
  net::io_context io;
  SessionRegistry reg;
  int calls = 0;
  auto token = reg.add(io.get_executor(), [&](StopPhase) { ++calls; }, [&](auto) { ++calls; });
  reg.config_changed(snapshot());
  reg.interrupt_all(StopPhase::drain);
  token.reset();
  io.run();
  CHECK(calls == 0);
  CHECK(reg.size() == 0);
}
