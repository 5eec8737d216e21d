#include "spool/entry_file.hpp"
#include "tests/unit/spool/spool_test_support.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

using namespace xr::spool;
using xr::spool::test::Fixture;

namespace {

// A hand-made queue file: header + envelope + message.
std::string queue_file(const Envelope& env, const std::string& msg) {
  std::string json = encode_envelope(env);
  return fmt::format("XRSPOOL1 {:010} {:020}\n", json.size(), msg.size()) + json + "\n" + msg;
}

}  // namespace

TEST_CASE("scan reads every entry with its state, sorted by id") {
  Fixture f;
  auto a = test::envelope("00000000000100000000");
  auto b = test::envelope("00000000000200000000", 3);
  test::queue(f.store, b, test::message(10));
  test::queue(f.store, a, test::message(20));
  {
    auto e = f.store.lock(b.id);
    REQUIRE(e);
    DeliveryState s;
    s.attempts = 2;
    s.set_rcpt(0, 3, RcptStatus::delivered, "250 ok");
    f.store.write_state(*e, s);
  }
  auto scan = f.store.scan(false);
  REQUIRE(scan.entries.size() == 2);
  CHECK(scan.entries[0].envelope.id == a.id);
  CHECK(scan.entries[1].envelope.id == b.id);
  CHECK(scan.entries[0].message_size == test::message(20).size());
  CHECK(scan.entries[0].file_size == std::filesystem::file_size(f.path("queue/" + a.id)));
  CHECK(scan.entries[0].state.attempts == 0);
  CHECK(scan.entries[1].state.attempts == 2);
  CHECK(scan.entries[1].state.rcpt(0) == RcptStatus::delivered);
  CHECK(scan.unreadable.empty());
}

TEST_CASE("scan(true) recovers: tmp files and orphan states go, damaged entries move to corrupt/") {
  Fixture f;
  auto good = test::envelope();
  test::queue(f.store, good, test::message());
  // A crash during acceptance: a half-written tmp file.
  {
    auto w = f.store.begin(test::envelope());
    w.write("half a message");
    // simulate kill -9: the file stays (copy it away before the writer removes it)
    std::filesystem::copy_file(f.path("tmp/" + w.id()), f.path("tmp/00000000000000000001"));
  }
  // A crash between the two unlinks of a removal, and one inside write_state.
  f.tmp.write("spool/state/00000000000000000002", "{\"v\":1}");
  f.tmp.write("spool/state/00000000000000000003.tmp", "{\"v\":1,\"att");
  // Damage of every kind.
  auto truncated = test::envelope("0000000000000000000A");
  std::string full = queue_file(truncated, test::message(1000));
  f.tmp.write("spool/queue/" + truncated.id, full.substr(0, full.size() - 10));
  f.tmp.write("spool/queue/0000000000000000000B", "NOTASPOOLFILE at all, just text\n");
  auto bad_json = test::envelope("0000000000000000000C");
  std::string bj = queue_file(bad_json, "m");
  bj[45] = '}';
  f.tmp.write("spool/queue/" + bad_json.id, bj);
  auto bad_state = test::envelope("0000000000000000000D");
  f.tmp.write("spool/queue/" + bad_state.id, queue_file(bad_state, "m"));
  f.tmp.write("spool/state/" + bad_state.id, "{\"v\":1,\"attempts\":\"many\"}");
  auto other_id = test::envelope("0000000000000000000E");
  f.tmp.write("spool/queue/0000000000000000000F", queue_file(other_id, "m"));
  f.tmp.write("spool/queue/notes.txt", "an operator's file");

  SUBCASE("scan(false) only reports") {
    auto scan = f.store.scan(false);
    REQUIRE(scan.entries.size() == 1);
    CHECK(scan.entries[0].envelope.id == good.id);
    CHECK(scan.unreadable == std::vector<std::string>{"0000000000000000000A", "0000000000000000000B",
                                                      "0000000000000000000C", "0000000000000000000D",
                                                      "0000000000000000000F"});
    CHECK(scan.temp_removed == 0);
    CHECK(scan.orphan_states_removed == 0);
    CHECK(test::count_files(f.path("tmp")) == 1);
    CHECK(test::count_files(f.path("queue")) == 7);
    CHECK_FALSE(std::filesystem::exists(f.path("corrupt")));
    CHECK_THROWS_AS(f.store.load("0000000000000000000A"), SpoolError);
    CHECK_THROWS_AS(f.store.lock("0000000000000000000D"), SpoolError);
  }
  SUBCASE("scan(true) cleans up") {
    auto scan = f.store.scan(true);
    REQUIRE(scan.entries.size() == 1);
    CHECK(scan.entries[0].envelope.id == good.id);
    CHECK(scan.unreadable.size() == 5);
    CHECK(scan.temp_removed == 2);  // tmp/ file and the state temporary
    CHECK(scan.orphan_states_removed == 1);
    CHECK(test::count_files(f.path("tmp")) == 0);
    CHECK(test::count_files(f.path("state")) == 0);
    CHECK(test::count_files(f.path("queue")) == 2);  // the good one and notes.txt
    CHECK(std::filesystem::exists(f.path("queue/notes.txt")));
    for (const auto& id : scan.unreadable) CHECK(std::filesystem::exists(f.path("corrupt/" + id)));
    CHECK(std::filesystem::exists(f.path("corrupt/0000000000000000000D.state")));
    CHECK(test::mode_of(f.path("corrupt")) == 0700);
    auto again = f.store.scan(true);
    CHECK(again.entries.size() == 1);
    CHECK(again.unreadable.empty());
  }
}

TEST_CASE("load reads one entry; nullopt when gone or not an id") {
  Fixture f;
  auto env = test::envelope();
  test::queue(f.store, env, test::message());
  auto e = f.store.load(env.id);
  REQUIRE(e);
  CHECK(e->envelope.mailbox == env.mailbox);
  CHECK_FALSE(f.store.load("0000000000000000000A"));
  CHECK_FALSE(f.store.load("../queue/" + env.id));
}
