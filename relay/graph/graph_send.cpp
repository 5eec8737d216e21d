#include "relay/graph/graph_send.hpp"

#include "auth/token_keys.hpp"
#include "relay/graph/graph_runner.hpp"
#include "relay/mailbox_slots.hpp"
#include "relay/token_wait.hpp"

#include <algorithm>

namespace xr::relay {
namespace {

// "https://host:port/path" -> "host" (an IPv6 literal without brackets), for
// the tenant's proxy choice (NO_PROXY matches hosts).
std::string url_host(std::string_view url) {
  auto p = url.find("://");
  if (p != std::string_view::npos) url.remove_prefix(p + 3);
  url = url.substr(0, url.find_first_of("/?#"));
  if (!url.empty() && url.front() == '[') return std::string(url.substr(1, url.find(']') - 1));
  return std::string(url.substr(0, url.find(':')));
}

graph::SendResult no_token_result(const auth::TokenError& e) {
  graph::SendResult r;
  r.kind = graph::SendResult::Kind::temporary;
  r.reply = smtp::make_reply(454, "4.7.0 Temporary authentication failure, try again later");
  r.detail = "no Graph token: " + e.summary;
  return r;
}

// Outside the coroutine: GCC 12 mis-sizes some frames with a std::string local.
void invalidate_token(Services& svc, const conf::Tenant& tenant, const std::string& mailbox,
                      const conf::Secret& refused) {
  svc.tokens.invalidate(auth::token_key(tenant, conf::Protocol::smtp, mailbox), refused);
}

}  // namespace

graph::Target graph_target(const conf::Tenant& tenant, const std::string& mailbox, const conf::Limits& limits) {
  graph::Target t;
  t.endpoint = tenant.graph.endpoint;
  t.mailbox = mailbox;
  t.ca_file = tenant.ca_file;
  if (const auto* proxy = tenant.proxy_for(url_host(tenant.graph.endpoint))) {
    t.proxy_url = proxy->url;
    t.proxy_credentials = proxy->credentials;
  }
  t.connect_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(limits.upstream_connect_timeout);
  // An upload of ~3 MB plus Exchange's answer: at least the client's default.
  t.total_timeout = std::max(t.total_timeout,
                             std::chrono::duration_cast<std::chrono::milliseconds>(limits.upstream_reply_timeout));
  return t;
}

std::string graph_slot_key(const std::string& tenant, const std::string& mailbox) {
  return MailboxSlots::key(tenant, "graph", mailbox);
}

net::awaitable<GraphAttempt> send_via_graph(Services& svc, const conf::Tenant& tenant, const std::string& mailbox,
                                            const conf::Limits& limits, const MimeSourceFactory& make_source) {
  GraphAttempt out;
  auto target = std::make_unique<graph::Target>(graph_target(tenant, mailbox, limits));
  for (int round = 0; round < 2; ++round) {
    auto token = co_await wait_for_token(svc.tokens, tenant, conf::Protocol::smtp, mailbox, limits.token_timeout);
    if (!token.ok) {
      out.no_token = true;
      out.token_fix = token.error.fix;
      out.result = no_token_result(token.error);
      co_return out;
    }
    target->token = token.token.value;
    auto source = make_source();
    out.result = co_await svc.graph.send_mail(*target, *source);
    if (out.result.kind != graph::SendResult::Kind::unauthorized) {
      target->token = conf::Secret();
      co_return out;
    }
    // Graph refused the token (revoked consent, a key rollover, a clock
    // off): a new one, once. A second 401 is not the token's age.
    invalidate_token(svc, tenant, mailbox, target->token);
    target->token = conf::Secret();
    out.refreshed = true;
  }
  out.result.kind = graph::SendResult::Kind::temporary;
  out.result.reply = smtp::make_reply(454, "4.7.0 Temporary authentication failure, try again later");
  co_return out;
}

smtp::Reply device_reply(const GraphAttempt& attempt) {
  const auto& r = attempt.result;
  if (r.kind == graph::SendResult::Kind::accepted)
    return smtp::make_reply(250, "2.0.0 OK Queued by Microsoft Graph request-id=" +
                                     (r.request_id.empty() ? std::string("-") : r.request_id));
  if (r.reply.code != 0) return r.reply;
  // The client always maps; this is a last guard against a 250 by default.
  return smtp::make_reply(451, "4.4.2 Microsoft Graph did not accept the message, try again later");
}

std::int64_t not_before(std::int64_t scheduled_ms, std::int64_t now_ms, std::optional<std::chrono::seconds> retry_after) {
  if (!retry_after) return scheduled_ms;
  return std::max(scheduled_ms, now_ms + std::chrono::duration_cast<std::chrono::milliseconds>(*retry_after).count());
}

std::string logged_code(const graph::SendResult& r) { return r.graph_code.empty() ? "-" : r.graph_code; }

}  // namespace xr::relay
