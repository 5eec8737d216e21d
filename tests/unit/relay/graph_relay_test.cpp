// The Graph path's pure pieces in relay/graph/: the limit replies, what the
// device hears, and the Retry-After rule of the spool (the Bcc line and the
// message source: tests/unit/graph/).
#include "relay/graph/graph_send.hpp"
#include "relay/graph/graph_transaction.hpp"
#include "relay/mailbox_slots.hpp"
#include "relay/spool/graph_delivery.hpp"
#include "relay/spool/spool_intake.hpp"
#include "spool/store.hpp"

#include <doctest/doctest.h>

using namespace xr;
using namespace xr::relay;

TEST_CASE("graph: SIZE= is the one the SMTP state machine validated (spool intake's reading)") {
  CHECK(announced_size("") == 0);
  CHECK(announced_size("BODY=8BITMIME SIZE=1234") == 1234);
  CHECK(announced_size("SIZE=99 BODY=7BIT") == 99);
  CHECK(announced_size("RET=HDRS") == 0);
}

TEST_CASE("graph: the refusal of a large message says why, with 552 5.3.4") {
  conf::Tenant t;
  const auto limit = graph::max_raw_message(t.graph);
  const auto r = GraphTransaction::too_large_reply(limit);
  CHECK(r.code == 552);
  CHECK(r.lines.at(0).rfind("5.3.4 ", 0) == 0);
  CHECK(r.lines.at(0).find("Graph") != std::string::npos);
  CHECK(r.lines.at(0).find("large_messages: upload") != std::string::npos);
}

TEST_CASE("graph: the device hears 250 only for 202") {
  GraphAttempt a;
  a.result.kind = graph::SendResult::Kind::accepted;
  a.result.request_id = "rid-1";
  auto r = device_reply(a);
  CHECK(r.code == 250);
  CHECK(r.lines.at(0).find("rid-1") != std::string::npos);
  a.result.kind = graph::SendResult::Kind::temporary;
  a.result.reply = smtp::make_reply(451, "4.7.0 throttled");
  CHECK(device_reply(a).code == 451);
  a.result.reply = smtp::Reply{};  // a mapping that forgot the reply is never a 250
  CHECK(device_reply(a).code == 451);
  a.result.kind = graph::SendResult::Kind::permanent;
  CHECK(device_reply(a).code / 100 == 4);
}

TEST_CASE("graph: a throttled spool message waits for Retry-After, never less") {
  using std::chrono::seconds;
  CHECK(not_before(5000, 1000, std::nullopt) == 5000);
  CHECK(not_before(2000, 1000, seconds(3)) == 4000);
  CHECK(not_before(9000, 1000, seconds(3)) == 9000);
  CHECK(not_before(1000, 1000, seconds(0)) == 1000);
}

TEST_CASE("graph: requests for a mailbox have their own slots, apart from SMTP's") {
  CHECK(graph_slot_key("contoso", "Scan@Contoso.com") != MailboxSlots::key("contoso", "smtp", "scan@contoso.com"));
  CHECK(graph_slot_key("contoso", "Scan@Contoso.com") == graph_slot_key("contoso", "scan@contoso.com"));
}

TEST_CASE("graph: a spool read error while reading the header block is a retried attempt, not an exception") {
  spool::AttemptReport report;
  auto plan = bcc_plan_or_error([]() -> graph::BccPlan { throw spool::SpoolError("cannot read queue/x: EIO"); },
                                report);
  CHECK_FALSE(plan);
  CHECK(report.error.find("reading the spool: cannot read") == 0);
  spool::Envelope env;
  env.id = "0123456789ABCDEF0123";
  env.received_ms = 1'000'000;
  env.rcpts.push_back({"a@b.example", ""});
  std::mt19937_64 rng(1);
  const spool::RetryRules rules{{std::chrono::seconds(60)}, std::chrono::seconds(3600)};
  const auto d = spool::decide(env, {}, report, env.received_ms + 10, rules, rng);
  CHECK(d.next == spool::Next::retry);
  spool::AttemptReport ok_report;
  auto ok = bcc_plan_or_error([] { return graph::plan_bcc("To: a@x\r\n\r\n", true, {"a@x", "b@x"}, 1024); },
                              ok_report);
  REQUIRE(ok);
  CHECK(ok->field == "Bcc: b@x\r\n");
  CHECK(ok_report.error.empty());
}
