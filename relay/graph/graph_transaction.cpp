#include "relay/graph/graph_transaction.hpp"

#include "graph/bcc_prefix.hpp"
#include "graph/graph_client.hpp"
#include "graph/mime_source.hpp"
#include "relay/graph/graph_send.hpp"
#include "relay/mailbox_slots.hpp"
#include "relay/session_support.hpp"
#include "relay/spool/spool_intake.hpp"

namespace xr::relay {
namespace {

using Clock = std::chrono::steady_clock;
using conf::LogLevel;

}  // namespace

namespace {

const char* kind_name(graph::SendResult::Kind k) {
  switch (k) {
    case graph::SendResult::Kind::accepted: return "accepted";
    case graph::SendResult::Kind::permanent: return "permanent";
    case graph::SendResult::Kind::temporary: return "temporary";
    case graph::SendResult::Kind::unauthorized: return "unauthorized";
  }
  return "?";
}

}  // namespace

smtp::Reply GraphTransaction::too_large_reply(std::uint64_t limit) {
  return smtp::make_reply(552, "5.3.4 Message too big for Microsoft Graph (limit " + std::to_string(limit / 1024) +
                                   " KiB of MIME, Graph's ~4 MB request); large_messages: upload is not available");
}

smtp::Reply GraphTransaction::mail(std::shared_ptr<const ConfigSnapshot> snap, std::string tenant, std::string mailbox,
                                   std::string from, std::string_view params) {
  reset();
  snap_ = std::move(snap);
  tenant_ = std::move(tenant);
  mailbox_ = std::move(mailbox);
  from_ = std::move(from);
  limit_ = graph::max_raw_message(snap_->config.tenants.at(tenant_).graph);
  const auto announced = announced_size(params);
  if (announced > limit_) {
    svc_.metrics.add("xoauth2_relay_messages_total", {{"outcome", "rejected"}});
    svc_.log.warn(session_, "message_refused",
                  {{"reason", "too_large_for_graph"}, {"mailbox", mailbox_}, {"size", announced}, {"limit", limit_},
                   {"reply", "552 5.3.4"}, {"hint", "Graph takes about 3 MB of MIME; send large files another way"}});
    snap_.reset();
    return too_large_reply(limit_);
  }
  return smtp::make_reply(250, "2.1.0 Sender OK");
}

smtp::Reply GraphTransaction::rcpt(std::string address) {
  rcpts_.push_back(std::move(address));
  return smtp::make_reply(250, "2.1.5 Recipient OK");
}

smtp::Reply GraphTransaction::data() {
  message_.clear();
  received_ = 0;
  over_ = false;
  ok_ = false;
  started_ = Clock::now();
  return smtp::make_reply(354, "Start mail input; end with <CRLF>.<CRLF>");
}

void GraphTransaction::write(std::string_view bytes) {
  received_ += bytes.size();
  if (over_) return;
  if (received_ > limit_) {
    // Keep reading (the device must hear 552 at the end of DATA, not a
    // dropped connection) but hold nothing more.
    over_ = true;
    std::string().swap(message_);
    return;
  }
  message_.append(bytes);
}

void GraphTransaction::log_too_large(const std::string& message_id, std::uint64_t size) {
  svc_.metrics.add("xoauth2_relay_messages_total", {{"outcome", "rejected"}});
  svc_.log.warn(session_, "message_refused",
                {{"reason", "too_large_for_graph"}, {"mailbox", mailbox_}, {"message_id", message_id},
                 {"size", size}, {"limit", limit_}, {"reply", "552 5.3.4"},
                 {"hint", "Graph takes about 3 MB of MIME; send large files another way"}});
}

void GraphTransaction::log_mailbox_busy(std::size_t max_concurrent, long long waited_ms) {
  svc_.log.warn(session_, "mailbox_busy",
                {{"mailbox", mailbox_}, {"via", "graph"}, {"max_concurrent", max_concurrent}, {"waited_ms", waited_ms},
                 {"hint", "Graph allows 4 requests per app and mailbox at once"}});
  svc_.metrics.add("xoauth2_relay_messages_total", {{"outcome", "failed"}});
}

void GraphTransaction::log_result(const GraphAttempt& attempt, const smtp::Reply& reply, bool bcc_added,
                                  const std::string& message_id, std::uint64_t size, std::size_t bare_lf) {
  const auto& r = attempt.result;
  svc_.metrics.add("xoauth2_relay_upstream_replies_total", {{"class", std::to_string(reply.code / 100) + "xx"}});
  svc_.metrics.add("xoauth2_relay_messages_total",
                   {{"outcome", ok_ ? "accepted" : reply.code / 100 == 5 ? "rejected" : "failed"}});
  if (attempt.no_token) {
    svc_.log.error(session_, "token_unavailable",
                   {{"tenant", tenant_}, {"for", "graph"}, {"error", r.detail}, {"fix", attempt.token_fix}});
  }
  // from, rcpts and message_id find the mail in Exchange's message trace;
  // request_id finds the call in Graph's logs. Never the token.
  svc_.log.log(ok_ ? LogLevel::info : LogLevel::warn, session_, "message",
               {{"mailbox", mailbox_}, {"via", "graph"}, {"from", from_.empty() ? "<>" : from_},
                {"rcpts", rcpts_.size()}, {"bcc_added", bcc_added ? "yes" : "no"},
                {"message_id", message_id}, {"size", size}, {"bytes", received_},
                {"bare_lf", bare_lf}, {"result", kind_name(r.kind)}, {"http_status", r.http_status},
                {"graph_code", logged_code(r)}, {"request_id", r.request_id.empty() ? "-" : r.request_id},
                {"token_refreshed", attempt.refreshed ? "yes" : "no"},
                {"retry_after_s", r.retry_after ? std::to_string(r.retry_after->count()) : std::string("-")},
                {"detail", r.detail.empty() ? "-" : r.detail}, {"reply", reply.summary()},
                {"ms", ms_since(started_)}});
}

net::awaitable<smtp::Reply> GraphTransaction::finish(std::string message_id, std::size_t bare_lf) {
  ok_ = false;
  if (!snap_) co_return smtp::make_reply(503, "5.5.1 No transaction");
  const auto snap = snap_;
  const auto& tenant = snap->config.tenants.at(tenant_);
  const auto& limits = snap->config.limits;
  const std::string logged_id = message_id.empty() ? "-" : message_id;
  auto plan = std::make_shared<graph::BccPlan>();
  if (!over_) *plan = graph::plan_bcc(message_, true, rcpts_, limits.max_header_size);
  const std::uint64_t size = over_ ? received_ + plan->field.size()
                                   : message_.size() + plan->field.size() - plan->dropped();
  if (over_ || size > limit_) {
    log_too_large(logged_id, size);
    const auto limit = limit_;
    reset();
    co_return too_large_reply(limit);
  }

  const auto t0 = Clock::now();
  const std::string slot_key = graph_slot_key(tenant_, mailbox_);
  const std::size_t max_concurrent = tenant.graph.max_concurrent_per_mailbox;
  auto slot = co_await svc_.mailbox_slots.acquire(slot_key, max_concurrent, limits.mailbox_wait_timeout);
  if (!slot) {
    log_mailbox_busy(max_concurrent, ms_since(t0));
    reset();
    co_return smtp::make_reply(451, "4.7.0 Too many Microsoft Graph requests for this mailbox, try again later");
  }
  const std::string* body = &message_;
  MimeSourceFactory make_source = [plan, body] {
    return graph::with_bcc(plan->field, plan->drop, std::make_unique<graph::BufferSource>(*body));
  };
  auto attempt = co_await send_via_graph(svc_, tenant, mailbox_, limits, make_source);
  slot.reset();

  const auto reply = device_reply(attempt);
  ok_ = attempt.result.kind == graph::SendResult::Kind::accepted;
  const bool bcc_added = !plan->field.empty();
  log_result(attempt, reply, bcc_added, logged_id, size, bare_lf);
  reset();
  co_return reply;
}

void GraphTransaction::reset() {
  snap_.reset();
  rcpts_.clear();
  std::string().swap(message_);
  received_ = 0;
  over_ = false;
  from_.clear();
}

}  // namespace xr::relay
