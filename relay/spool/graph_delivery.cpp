// Spooled messages of a tenant with smtp: {via: graph}: one sendMail per
// message, read from its spool file with the Bcc: line for its envelope
// recipients in front. 202 -> done; a permanent answer -> the DSN carries
// the mapped reply; a temporary one -> retried, never before Graph's
// Retry-After (the lane pauses that long too: the throttle is per mailbox).
#include "relay/spool/engine_impl.hpp"
#include "relay/spool/graph_delivery.hpp"

#include "graph/bcc_prefix.hpp"
#include "graph/mime_source.hpp"
#include "relay/graph/graph_send.hpp"
#include "relay/mailbox_slots.hpp"

namespace xr::relay {
namespace {

using Steady = std::chrono::steady_clock;

// The spool file's message from its first byte. A read error ends the
// stream early (the client reports a short source, a temporary failure):
// never an exception inside curl's read callback.
class SpoolFileSource : public graph::MessageSource {
 public:
  explicit SpoolFileSource(spool::LockedEntry& locked) : locked_(locked) { locked_.rewind(); }
  std::uint64_t size() const override { return locked_.entry().message_size; }
  std::size_t read(char* out, std::size_t n) override {
    if (failed_) return 0;
    try {
      return locked_.read(out, n);
    } catch (const spool::SpoolError&) {
      failed_ = true;
      return 0;
    }
  }

 private:
  spool::LockedEntry& locked_;
  bool failed_ = false;
};

// The Bcc line and the Bcc fields to leave out, from the header block read
// up to limits.max_header_size (the header guard refused anything longer).
graph::BccPlan spool_bcc_plan(spool::LockedEntry& locked, const std::vector<std::string>& rcpts,
                              std::size_t max_header) {
  const std::string head = locked.header_block(max_header);
  // All of the message, or a bounded read that may have cut a line.
  const bool whole = head.size() >= locked.entry().message_size;
  return graph::plan_bcc(head, whole, rcpts, max_header);
}

void log_graph_send(Services& svc, const spool::Entry& entry, const std::string& id, const std::string& mailbox,
                    const GraphAttempt& attempt, bool bcc_added) {
  const auto& res = attempt.result;
  svc.log.log(res.kind == graph::SendResult::Kind::accepted ? conf::LogLevel::debug : conf::LogLevel::warn,
              entry.envelope.session, "graph_send",
              {{"id", id}, {"mailbox", mailbox}, {"for", "spool"}, {"http_status", res.http_status},
               {"graph_code", logged_code(res)}, {"request_id", res.request_id.empty() ? "-" : res.request_id},
               {"token_refreshed", attempt.refreshed ? "yes" : "no"},
               {"retry_after_s", res.retry_after ? std::to_string(res.retry_after->count()) : std::string("-")},
               {"bcc_added", bcc_added ? "yes" : "no"}, {"detail", res.detail.empty() ? "-" : res.detail}});
}

std::vector<std::string> pending_rcpts(const spool::Entry& entry) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < entry.envelope.rcpts.size(); ++i)
    if (entry.state.rcpt(i) == spool::RcptStatus::pending) out.push_back(entry.envelope.rcpts[i].address);
  return out;
}

// What Graph's answer means for every pending recipient (Graph takes or
// refuses a message as a whole).
spool::AttemptReport report_for(const spool::Entry& entry, const GraphAttempt& attempt) {
  spool::AttemptReport rep;
  const auto& r = attempt.result;
  const auto reply = device_reply(attempt);
  rep.final_reply = reply.summary();
  if (attempt.no_token) {
    rep.error = r.detail;
    return rep;
  }
  const auto verdict = r.kind == graph::SendResult::Kind::accepted    ? spool::Verdict::delivered
                       : r.kind == graph::SendResult::Kind::permanent ? spool::Verdict::failed
                                                                      : spool::Verdict::retry;
  for (std::size_t i = 0; i < entry.envelope.rcpts.size(); ++i)
    if (entry.state.rcpt(i) == spool::RcptStatus::pending) rep.rcpts.push_back({i, verdict, reply.summary()});
  return rep;
}

}  // namespace

std::optional<graph::BccPlan> bcc_plan_or_error(const std::function<graph::BccPlan()>& read,
                                                spool::AttemptReport& report) {
  try {
    return read();
  } catch (const spool::SpoolError& err) {
    report.error = std::string("reading the spool: ") + err.what();
    report.final_reply = "-";
    return std::nullopt;
  }
}

// One due message: locked, sent, concluded (state written, DSN, log). A
// template only because DeliveryEngine::Impl is private to the engine.
template <typename Engine, typename Lane>
net::awaitable<void> attempt_graph(Engine& e, Lane& lane, const conf::Tenant& tenant, const conf::Limits& limits,
                                   const std::string& id, bool& lane_failed);

// A worker of a Graph lane (instead of an SMTP connection): holds one Graph
// slot of the mailbox and sends its due messages one after another.
net::awaitable<void> DeliveryEngine::Impl::deliver_graph_lane(Lane& lane,
                                                              const std::shared_ptr<const ConfigSnapshot>& snap) {
  auto& e = *this;
  const auto& tenant = snap->config.tenants.at(lane.tenant);
  const auto& limits = snap->config.limits;
  const auto key = graph_slot_key(lane.tenant, lane.mailbox);
  auto slot = e.svc.mailbox_slots.try_acquire(key, tenant.graph.max_concurrent_per_mailbox);
  if (!slot) {
    // Direct sessions use every request Graph allows now: come back soon.
    lane.retry_at = Steady::now() + std::chrono::seconds(1);
    co_return;
  }
  while (!e.stopping) {
    // Picked and claimed with no suspension in between: two workers of a
    // lane never pick the same message.
    auto id = e.next_due(lane, unix_ms_now());
    if (!id) break;
    const auto now = Steady::now();
    const auto allowed = lane.pacer.next_allowed(now);
    if (allowed > now) {
      if (allowed - now > kMaxPacingWait) break;
      net::steady_timer t(e.ctx, allowed);
      co_await t.async_wait(net::as_tuple(net::use_awaitable));
      continue;
    }
    bool lane_failed = false;
    const std::string picked = *id;
    co_await attempt_graph(e, lane, tenant, limits, picked, lane_failed);
    if (lane_failed) {
      // No token: the other due messages would fail the same way now.
      const std::string why = "no Graph token";
      co_await e.fail_due(lane, why);
      break;
    }
  }
}

template <typename Engine, typename Lane>
net::awaitable<void> attempt_graph(Engine& e, Lane& lane, const conf::Tenant& tenant, const conf::Limits& limits,
                                   const std::string& id, bool& lane_failed) {
  auto locked = e.claim(id);
  if (!locked) co_return;
  const auto r = e.rules();
  auto report = std::make_unique<spool::AttemptReport>();
  std::optional<std::chrono::seconds> retry_after;
  if (unix_ms_now() >= spool::expiry_ms(locked->entry().envelope, r)) {
    report->error = "expired before this attempt";
    report->final_reply = "-";
  } else {
    lane.pacer.record(Steady::now());
    auto plan = std::make_unique<graph::BccPlan>();
    auto* entry_read = &*locked;
    const auto max_header = limits.max_header_size;
    std::function<graph::BccPlan()> read_plan = [entry_read, max_header] {
      return spool_bcc_plan(*entry_read, pending_rcpts(entry_read->entry()), max_header);
    };
    auto got = bcc_plan_or_error(read_plan, *report);
    const bool readable = got.has_value();
    if (readable) *plan = std::move(*got);
    if (readable) {
      auto* entry_lock = &*locked;
      auto* plan_ptr = plan.get();
      MimeSourceFactory make_source = [entry_lock, plan_ptr] {
        return graph::with_bcc(plan_ptr->field, plan_ptr->drop, std::make_unique<SpoolFileSource>(*entry_lock));
      };
      auto attempt = co_await send_via_graph(e.svc, tenant, lane.mailbox, limits, make_source);
      *report = report_for(locked->entry(), attempt);
      lane_failed = attempt.no_token;
      const auto& res = attempt.result;
      if (res.kind != graph::SendResult::Kind::accepted && res.retry_after) {
        // Throttled: the whole mailbox waits (Graph counts per app and mailbox).
        retry_after = *res.retry_after;
        lane.pacer.pause_until(Steady::now() + *retry_after);
      }
      const bool bcc_added = !plan->field.empty();
      log_graph_send(e.svc, locked->entry(), id, lane.mailbox, attempt, bcc_added);
    }
  }
  auto decision = spool::decide(locked->entry().envelope, locked->entry().state, *report, unix_ms_now(), r, e.rng);
  // Never before Graph's Retry-After, whatever the schedule says.
  if (decision.next == spool::Next::retry)
    decision.state.next_attempt_ms = not_before(decision.state.next_attempt_ms, unix_ms_now(), retry_after);
  co_await e.conclude(std::move(*locked), decision, *report);
}

}  // namespace xr::relay
