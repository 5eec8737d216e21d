#include "spool/queue_ops.hpp"
#include "tests/unit/spool/spool_test_support.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

using namespace xr::spool;
using xr::spool::test::Fixture;

namespace {
constexpr std::int64_t kNow = 1767225600000 + 90 * 60 * 1000;  // 90 minutes after test::envelope()
}

TEST_CASE("queue rows, table and JSON") {
  Fixture f;
  auto a = test::envelope("00000000000100000000", 3);
  auto b = test::envelope("00000000000200000000");
  b.user = "";
  test::queue(f.store, a, test::message(2000));
  test::queue(f.store, b, test::message(10));
  {
    auto e = f.store.lock(a.id);
    DeliveryState s;
    s.attempts = 3;
    s.next_attempt_ms = kNow + 5 * 60 * 1000;
    s.last_error = "432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded";
    s.set_rcpt(0, 3, RcptStatus::delivered, "250 ok");
    f.store.write_state(*e, s);
  }
  REQUIRE(apply_queue_op(f.store, QueueOp::hold, b.id) == OpOutcome::done);

  auto rows = queue_rows(f.store.scan(false).entries);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].rcpts == std::vector<std::string>{"user1@contoso.com", "user2@contoso.com"});
  CHECK(rows[0].attempts == 3);
  CHECK(rows[0].size == test::message(2000).size());
  CHECK(rows[1].held);

  std::string table = render_queue_table(rows, kNow);
  CHECK(table.find("ID") == 0);
  CHECK(table.find("LAST-ERROR") != std::string::npos);
  CHECK(table.find("00000000000100000000  1h30m") != std::string::npos);
  CHECK(table.find("user1@contoso.com +1") != std::string::npos);
  CHECK(table.find("in 5m") != std::string::npos);
  CHECK(table.find("held") != std::string::npos);
  CHECK(table.find("432 4.3.2") != std::string::npos);
  CHECK(table.find("2 messages") != std::string::npos);
  CHECK(render_queue_table({}, kNow) == "queue is empty\n");

  auto doc = boost::json::parse(render_queue_json(rows, kNow));
  CHECK(doc.at("now").to_number<std::int64_t>() == kNow);
  const auto& msgs = doc.at("messages").as_array();
  REQUIRE(msgs.size() == 2);
  const auto& m = msgs[0].as_object();
  CHECK(m.at("id").as_string() == "00000000000100000000");
  CHECK(m.at("age_s").to_number<std::int64_t>() == 90 * 60);
  CHECK(m.at("size").to_number<std::uint64_t>() == test::message(2000).size());
  CHECK(m.at("user").as_string() == "scanner01");
  CHECK(m.at("tenant").as_string() == "contoso");
  CHECK(m.at("mailbox").as_string() == "scanner@contoso.com");
  CHECK(m.at("from").as_string() == "scanner@contoso.com");
  CHECK(m.at("rcpts").as_array().size() == 2);
  CHECK(m.at("attempts").to_number<int>() == 3);
  CHECK(m.at("next_attempt").to_number<std::int64_t>() == kNow + 5 * 60 * 1000);
  CHECK(m.at("held").as_bool() == false);
  CHECK(m.at("last_error").as_string().starts_with("432"));
  CHECK(m.at("dsn").as_bool() == false);
  CHECK(msgs[1].at("held").as_bool());
  CHECK(msgs[1].at("user").as_string() == "");
}

TEST_CASE("apply_queue_op: flush, hold, release, remove, not_found, busy") {
  Fixture f;
  auto env = test::envelope();
  test::queue(f.store, env, test::message());
  {
    auto e = f.store.lock(env.id);
    DeliveryState s;
    s.next_attempt_ms = kNow + 3600 * 1000;
    s.attempts = 4;
    f.store.write_state(*e, s);
  }
  auto state = [&] { return f.store.load(env.id)->state; };

  CHECK(apply_queue_op(f.store, QueueOp::hold, env.id) == OpOutcome::done);
  CHECK(state().held);
  CHECK(state().next_attempt_ms == kNow + 3600 * 1000);

  CHECK(apply_queue_op(f.store, QueueOp::flush, env.id) == OpOutcome::done);
  CHECK(state().next_attempt_ms == 0);
  CHECK(state().held);  // flush does not release
  CHECK(state().attempts == 4);

  {
    auto e = f.store.lock(env.id);
    auto s = e->entry().state;
    s.next_attempt_ms = kNow;
    f.store.write_state(*e, s);
  }
  CHECK(apply_queue_op(f.store, QueueOp::release, env.id) == OpOutcome::done);
  CHECK_FALSE(state().held);
  CHECK(state().next_attempt_ms == 0);

  {
    auto delivering = f.store.lock(env.id);
    REQUIRE(delivering);
    CHECK(apply_queue_op(f.store, QueueOp::remove, env.id, 50) == OpOutcome::busy);
    CHECK(apply_queue_op(f.store, QueueOp::hold, env.id, 0) == OpOutcome::busy);
  }
  CHECK(f.store.load(env.id));

  CHECK(apply_queue_op(f.store, QueueOp::remove, env.id) == OpOutcome::done);
  CHECK_FALSE(f.store.load(env.id));
  CHECK(test::count_files(f.path("queue")) == 0);
  CHECK(test::count_files(f.path("state")) == 0);
  CHECK(apply_queue_op(f.store, QueueOp::remove, env.id) == OpOutcome::not_found);
  CHECK(apply_queue_op(f.store, QueueOp::flush, "../x") == OpOutcome::not_found);
  CHECK(std::string(to_string(OpOutcome::busy)) == "busy");
}
