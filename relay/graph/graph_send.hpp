// One message through Microsoft Graph, as both the SMTP session (direct) and
// the spool's delivery engine send it: the tenant's Graph token, sendMail on
// the Graph pool, and on 401 a new token and exactly one more try (then
// 454 4.7.0: the device or the spool tries again later). The caller holds
// the per-mailbox Graph slot (MailboxSlots key "<tenant>/graph/<mailbox>").
#pragma once

#include "conf/config.hpp"
#include "graph/graph_client.hpp"
#include "relay/asio.hpp"
#include "relay/runtime.hpp"

#include <functional>
#include <memory>
#include <string>

namespace xr::relay {

// The message from its first byte, again for the retry after a 401.
using MimeSourceFactory = std::function<std::unique_ptr<graph::MessageSource>()>;

struct GraphAttempt {
  graph::SendResult result;  // the last call's (or a made-up temporary one: no token)
  bool refreshed = false;    // a 401 made the relay fetch a new token and try once more
  bool no_token = false;     // the token was unavailable (result.detail says why)
  std::string token_fix;     // then: what to do about it
};

// Where sendMail goes for `mailbox` of `tenant` (endpoint, CA, proxy,
// timeouts); the token is filled in by send_via_graph.
graph::Target graph_target(const conf::Tenant& tenant, const std::string& mailbox, const conf::Limits& limits);

// The MailboxSlots key of Graph requests for a mailbox (distinct from SMTP's).
std::string graph_slot_key(const std::string& tenant, const std::string& mailbox);

net::awaitable<GraphAttempt> send_via_graph(Services& svc, const conf::Tenant& tenant, const std::string& mailbox,
                                            const conf::Limits& limits, const MimeSourceFactory& make_source);

// "250 2.0.0 OK ..." for 202 (with Graph's request id, which finds the
// message in Graph's logs); else the client's mapping.
smtp::Reply device_reply(const GraphAttempt& attempt);

// When a message Graph throttled may be tried again: the spool schedule's
// time, but never before Graph's Retry-After (Unix ms).
std::int64_t not_before(std::int64_t scheduled_ms, std::int64_t now_ms, std::optional<std::chrono::seconds> retry_after);

// "graph_code" for the log: the error code, or "-".
std::string logged_code(const graph::SendResult& r);

}  // namespace xr::relay
