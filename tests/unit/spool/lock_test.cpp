#include "tests/unit/spool/spool_test_support.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <thread>

using namespace xr::spool;
using xr::spool::test::Fixture;
using Clock = std::chrono::steady_clock;

TEST_CASE("an entry locked by one holder is busy for every other, also another Store") {
  Fixture f;
  auto env = test::envelope();
  test::queue(f.store, env, test::message());
  Store other(Store::Options{f.dir, false, false});

  auto first = f.store.lock(env.id);
  REQUIRE(first);
  bool busy = false;
  CHECK_FALSE(other.lock(env.id, 0, &busy));
  CHECK(busy);
  busy = false;
  CHECK_FALSE(f.store.lock(env.id, 0, &busy));  // same store, another descriptor
  CHECK(busy);

  // Waiting: given up after wait_ms.
  auto t0 = Clock::now();
  CHECK_FALSE(other.lock(env.id, 150, &busy));
  CHECK(busy);
  CHECK(Clock::now() - t0 >= std::chrono::milliseconds(150));

  // Waiting: succeeds once the holder lets go.
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    first.reset();
  });
  t0 = Clock::now();
  auto second = other.lock(env.id, 5000, &busy);
  releaser.join();
  REQUIRE(second);
  CHECK_FALSE(busy);
  CHECK(Clock::now() - t0 >= std::chrono::milliseconds(90));
  CHECK(second->entry().envelope.id == env.id);
}

TEST_CASE("lock: nullopt and not busy for a missing entry or an invalid id") {
  Fixture f;
  bool busy = true;
  CHECK_FALSE(f.store.lock("0123456789ABCDEF0123", 0, &busy));
  CHECK_FALSE(busy);
  busy = true;
  CHECK_FALSE(f.store.lock("../../lock", 0, &busy));
  CHECK_FALSE(busy);
}

TEST_CASE("an entry removed while someone waited for its lock is gone for the waiter") {
  Fixture f;
  auto env = test::envelope();
  test::queue(f.store, env, test::message());
  auto holder = f.store.lock(env.id);
  REQUIRE(holder);
  std::thread remover([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    f.store.remove(*holder);
    holder.reset();
  });
  bool busy = true;
  auto waiter = f.store.lock(env.id, 5000, &busy);
  remover.join();
  CHECK_FALSE(waiter);
  CHECK_FALSE(busy);
}

TEST_CASE("write_state replaces the state file whole, and lock reads the current state") {
  Fixture f;
  auto env = test::envelope("0123456789ABCDEF0123", 2);
  test::queue(f.store, env, test::message());
  {
    auto e = f.store.lock(env.id);
    REQUIRE(e);
    CHECK(e->entry().state.attempts == 0);
    DeliveryState s;
    s.attempts = 1;
    s.last_error = "451 4.4.2 try later";
    f.store.write_state(*e, s);
    CHECK(e->entry().state.attempts == 1);
    const auto text = test::slurp(f.path("state/" + env.id));
    CHECK(decode_state(text)->attempts == 1);
    s.attempts = 2;
    f.store.write_state(*e, s);
    CHECK(test::count_files(f.path("state")) == 1);  // no temporary left
  }
  auto again = f.store.lock(env.id);
  REQUIRE(again);
  CHECK(again->entry().state.attempts == 2);
  CHECK(again->entry().state.last_error == "451 4.4.2 try later");
}

TEST_CASE("remove unlinks the queue file, then the state") {
  Fixture f;
  auto env = test::envelope();
  test::queue(f.store, env, test::message());
  auto e = f.store.lock(env.id);
  REQUIRE(e);
  f.store.write_state(*e, DeliveryState{});
  REQUIRE(std::filesystem::exists(f.path("state/" + env.id)));
  f.store.remove(*e);
  CHECK_FALSE(std::filesystem::exists(f.path("queue/" + env.id)));
  CHECK_FALSE(std::filesystem::exists(f.path("state/" + env.id)));
  CHECK_THROWS_AS(f.store.write_state(*e, DeliveryState{}), SpoolError);
  CHECK_FALSE(f.store.load(env.id));
  CHECK(f.store.scan(false).entries.empty());
}

TEST_CASE("LockedEntry reads the message in the caller's chunks, rewinds, and gives the header block") {
  Fixture f;
  auto env = test::envelope();
  std::string msg = "Subject: big\r\nX-Other: folded\r\n  line\r\n\r\n";
  for (int i = 0; i < 10000; ++i) msg += "line " + std::to_string(i) + "\r\n";
  test::queue(f.store, env, msg);
  auto e = f.store.lock(env.id);
  REQUIRE(e);
  CHECK(e->entry().message_size == msg.size());

  std::string back;
  char buf[777];
  std::size_t reads = 0;
  while (std::size_t n = e->read(buf, sizeof buf)) {
    CHECK(n <= sizeof buf);
    back.append(buf, n);
    ++reads;
  }
  CHECK(back == msg);
  CHECK(reads == (msg.size() + sizeof buf - 1) / sizeof buf);
  CHECK(e->read(buf, sizeof buf) == 0);

  e->rewind();
  std::size_t n = e->read(buf, 9);
  CHECK(std::string(buf, n) == "Subject: ");
  CHECK(e->header_block() == "Subject: big\r\nX-Other: folded\r\n  line\r\n\r\n");
  n = e->read(buf, 3);  // header_block() does not move the reading position
  CHECK(std::string(buf, n) == "big");
  CHECK(e->header_block(20) == msg.substr(0, 20));
}

TEST_CASE("header_block of a message without an empty line is its first bytes") {
  Fixture f;
  auto env = test::envelope();
  std::string msg(50000, 'h');
  test::queue(f.store, env, msg);
  auto e = f.store.lock(env.id);
  REQUIRE(e);
  CHECK(e->header_block() == msg);
  CHECK(e->header_block(40000) == msg.substr(0, 40000));
  auto env2 = test::envelope();
  test::queue(f.store, env2, "A: b\nC: d\n\nbody\n");
  auto e2 = f.store.lock(env2.id);
  REQUIRE(e2);
  CHECK(e2->header_block() == "A: b\nC: d\n\n");
}
