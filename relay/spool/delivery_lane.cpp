// The upstream side of the delivery engine: one connection per worker, as
// many due messages of its lane as pacing allows, RSET between them.
#include "relay/blocking_call.hpp"
#include "auth/login_refusal.hpp"
#include "relay/mailbox_slots.hpp"
#include "relay/spool/engine_impl.hpp"
#include "relay/token_wait.hpp"
#include "relay/util/utc_time.hpp"
#include "protocols/exchange_diagnosis.hpp"
#include "protocols/smtp_path.hpp"
#include "spool/dsn.hpp"
#include "spool/queue_id.hpp"

#include <ctime>


namespace xr::relay {
namespace {

using conf::LogLevel;
using Steady = std::chrono::steady_clock;

// An entry locked by `xoauth2-relay queue ...` right now: look again soon.
constexpr std::int64_t kBusyRetryMs = 2000;
// After a failure of the whole lane (no token, no connection, login
// refused): the longest pause before the next connection for that mailbox.
constexpr auto kOutageBackoff = std::chrono::seconds(5);
constexpr std::size_t kReadChunk = 64 * 1024;

// Exchange's or Google's set-up step behind a refused login (a plain
// function: its temporaries stay out of the coroutine frame).
std::string login_refusal_cause(const ConfigSnapshot& snap, const std::string& tenant, const smtp::Reply& reply) {
  auto it = snap.config.tenants.find(tenant);
  return it == snap.config.tenants.end() ? smtp::explain_exchange_reply(reply)
                                         : auth::explain_smtp_login_reply(it->second, reply);
}

std::string rcpt_line(const spool::Recipient& r) {
  std::string line = "RCPT TO:<" + r.address + ">";
  if (!r.params.empty()) line += " " + r.params;
  return line;
}

std::string mail_line(const spool::Envelope& env) {
  std::string line = "MAIL FROM:<" + env.mail_from + ">";
  if (!env.mail_params.empty()) line += " " + env.mail_params;
  return line;
}

// As `queue list --json` and people read times.
std::string iso_utc(std::int64_t unix_ms) {
  return utc_seconds(std::chrono::system_clock::time_point(std::chrono::milliseconds(unix_ms)));
}

}  // namespace

net::awaitable<void> DeliveryEngine::Impl::worker(std::string key) {
  auto self = shared_from_this();
  auto& lane = lanes[key];
  try {
    co_await deliver_lane(lane, key);
  } catch (const std::exception& e) {
    svc.log.error("", "spool_error", {{"lane", key}, {"error", e.what()}});
  }
  --lane.workers;
  poke();
}

net::awaitable<void> DeliveryEngine::Impl::deliver_lane(Lane& lane, const std::string& key) {
  auto snap = current();
  auto tenant_it = snap->config.tenants.find(lane.tenant);
  if (tenant_it == snap->config.tenants.end()) {
    const std::string why = "tenant " + lane.tenant + " is no longer in the configuration";
    co_await fail_due(lane, why);
    co_return;
  }
  const auto& tenant = tenant_it->second;
  if (tenant.smtp_via == conf::SmtpVia::graph) {  // sendMail per message (graph_delivery.cpp)
    co_await deliver_graph_lane(lane, snap);
    co_return;
  }
  auto slot = svc.mailbox_slots.try_acquire(key, tenant.smtp.max_connections_per_mailbox);
  if (!slot) {
    // Direct sessions hold every connection Exchange allows: come back soon.
    lane.retry_at = Steady::now() + std::chrono::seconds(1);
    co_return;
  }
  auto token = co_await wait_for_token(svc.tokens, tenant, conf::Protocol::smtp, lane.mailbox,
                                       snap->config.limits.token_timeout);
  if (!token.ok) {
    svc.log.warn("", "token_unavailable", {{"tenant", lane.tenant}, {"error", token.error.summary},
                                           {"fix", token.error.fix}, {"for", "spool"}});
    const std::string why = "no token: " + token.error.summary;
    co_await fail_due(lane, why);
    co_return;
  }
  auto s = UpstreamSmtp::Settings::for_mailbox(snap->config, tenant, lane.mailbox);
  // On the heap, not in the coroutine frame: GCC 12 mis-sizes frames that
  // hold an UpstreamSmtp (it warns -Wmismatched-new-delete, and the relay
  // then died with heap corruption).
  auto up = std::make_unique<UpstreamSmtp>(ctx.get_executor(), *snap->upstream_tls.at(lane.tenant), std::move(s));
  open.insert(up.get());
  std::exception_ptr failure;
  try {
    co_await use_connection(*up, lane, std::string(token.token.value.reveal()));
  } catch (...) {
    failure = std::current_exception();
  }
  open.erase(up.get());
  if (failure) std::rethrow_exception(failure);
}

net::awaitable<void> DeliveryEngine::Impl::use_connection(UpstreamSmtp& up, Lane& lane, std::string token) {
  const auto t0 = Steady::now();
  auto login = co_await up.open(std::move(token));
  svc.metrics.add("xoauth2_relay_upstream_logins_total", {{"protocol", "smtp"}, {"outcome", metric_outcome(login)}});
  if (login.status != UpstreamLogin::Status::ok) {
    auto why = login_refusal_cause(*current(), lane.tenant, login.reply);
    svc.log.log(login.status == UpstreamLogin::Status::refused ? LogLevel::error : LogLevel::warn, "",
                "upstream_failed",
                {{"upstream", up.peer()}, {"mailbox", lane.mailbox}, {"tenant", lane.tenant},
                 {"status", to_string(login.status)}, {"hop", to_string(login.hop)},
                 {"proxy", up.proxy_url()}, {"reply", login.said()}, {"detail", login.detail},
                 {"likely_cause", why.empty() ? "-" : why}, {"for", "spool"}});
    // Exchange says the mailbox is over a limit: no new connection or
    // submission for it until the schedule's first step has passed.
    if (login.reply.code && spool::is_mailbox_throttle(login.reply))
      lane.pacer.pause_until(Steady::now() + rules().schedule.front());
    // Named first: GCC 12 destroys a ?: temporary inside a co_await
    // expression twice (found by valgrind: a double free).
    // The proxy's own failure is not Office 365's: its detail names the proxy.
    std::string error = login.hop == Hop::proxy ? "" : "Office 365 login: ";
    error += login.reply.code ? login.said() : login.detail;
    co_await fail_due(lane, error);
    co_return;
  }
  svc.log.debug("", "upstream_ok", {{"upstream", up.peer()}, {"mailbox", lane.mailbox}, {"for", "spool"},
                                    {"tls_resumed", up.tls_resumed() ? "yes" : "no"},
                                    {"ms", std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - t0).count()}});

  while (!stopping && up.alive()) {
    // Picked and taken with no suspension in between: two workers of a
    // lane never pick the same message.
    auto id = next_due(lane, unix_ms_now());
    if (!id) break;
    const auto now = Steady::now();
    const auto allowed = lane.pacer.next_allowed(now);
    if (allowed > now) {
      if (allowed - now > kMaxPacingWait) break;
      net::steady_timer t(ctx, allowed);
      co_await t.async_wait(net::as_tuple(net::use_awaitable));
      continue;  // the lane may have changed meanwhile
    }
    co_await attempt(up, lane, *id);
    if (!up.alive() || stopping || !next_due(lane, unix_ms_now())) break;
    // A clean transaction state for the next message on this connection.
    const std::string rset = "RSET";
    auto r = co_await up.command(rset);
    if (!r || r->klass() != 2) break;
  }
  co_await up.quit();
}

std::optional<spool::LockedEntry> DeliveryEngine::Impl::claim(const std::string& id) {
  take(id);
  auto it = items.find(id);
  bool busy = false;
  std::optional<spool::LockedEntry> locked;
  try {
    locked = store.lock(id, 0, &busy);
  } catch (const spool::SpoolError& e) {
    // Damaged: never delivered; the next start moves it to corrupt/.
    svc.log.error("", "spool_corrupt", {{"id", id}, {"error", e.what()}});
    erase(id);
    return std::nullopt;
  }
  if (!locked) {
    if (busy && it != items.end()) {  // `queue ...` has it right now
      it->second.next_ms = unix_ms_now() + kBusyRetryMs;
      make_ready(id);
    } else {
      erase(id);  // deleted meanwhile
    }
    return std::nullopt;
  }
  if (it == items.end()) return std::nullopt;  // not ours to deliver; the lock goes
  if (locked->entry().state.held) {
    it->second.held = true;
    return std::nullopt;
  }
  it->second.busy = true;
  return locked;
}

net::awaitable<void> DeliveryEngine::Impl::attempt(UpstreamSmtp& up, Lane& lane, const std::string& id) {
  auto locked = claim(id);
  if (!locked) co_return;
  const auto& entry = locked->entry();
  const auto now_ms = unix_ms_now();
  const auto r = rules();
  spool::AttemptReport report;
  if (now_ms >= spool::expiry_ms(entry.envelope, r)) {
    report.error = "expired before this attempt";
  } else {
    lane.pacer.record(Steady::now());
    report = co_await send(up, *locked);
    if (report.throttled) lane.pacer.pause_until(Steady::now() + r.schedule.front());
  }
  auto decision = spool::decide(entry.envelope, entry.state, report, unix_ms_now(), r, rng);
  co_await conclude(std::move(*locked), decision, report);
}

net::awaitable<spool::AttemptReport> DeliveryEngine::Impl::send(UpstreamSmtp& up, spool::LockedEntry& locked) {
  spool::AttemptReport rep;
  rep.final_reply = "-";
  const auto& env = locked.entry().envelope;
  const auto& st = locked.entry().state;
  auto lost = [&](const char* phase) { return std::string("connection lost at ") + phase + ": " + up.error(); };
  auto all_pending = [&](const smtp::Reply& reply, const std::vector<std::size_t>& which) {
    for (auto i : which) rep.rcpts.push_back({i, spool::classify(reply), reply.summary()});
    rep.throttled = rep.throttled || spool::is_mailbox_throttle(reply);
  };
  std::vector<std::size_t> pending;
  for (std::size_t i = 0; i < env.rcpts.size(); ++i)
    if (st.rcpt(i) == spool::RcptStatus::pending) pending.push_back(i);

  auto mail = co_await up.command(mail_line(env));
  if (!mail) {
    rep.error = lost("MAIL");
    co_return rep;
  }
  if (mail->klass() != 2) {
    rep.final_reply = mail->summary();
    all_pending(*mail, pending);
    co_return rep;
  }
  std::vector<std::size_t> accepted;
  for (auto i : pending) {
    auto r = co_await up.command(rcpt_line(env.rcpts[i]));
    if (!r) {
      rep.error = lost("RCPT");
      co_return rep;
    }
    if (r->klass() == 2) {
      accepted.push_back(i);
    } else {
      rep.rcpts.push_back({i, spool::classify(*r), r->summary()});
      rep.final_reply = r->summary();  // the attempt's last word unless a message follows
      rep.throttled = rep.throttled || spool::is_mailbox_throttle(*r);
    }
  }
  if (accepted.empty()) co_return rep;
  const std::string data_cmd = "DATA";
  auto data = co_await up.command(data_cmd);
  if (!data) {
    rep.error = lost("DATA");
    co_return rep;
  }
  if (data->code != 354) {
    rep.final_reply = data->summary();
    all_pending(*data, accepted);
    co_return rep;
  }
  locked.rewind();
  std::string buf(kReadChunk, '\0');
  for (;;) {
    std::size_t n = 0;
    try {
      n = locked.read(buf.data(), buf.size());
    } catch (const spool::SpoolError& e) {
      // The spool cannot be read: never finish the message upstream.
      up.abandon();
      rep.error = std::string("reading the spool: ") + e.what();
      co_return rep;
    }
    if (n == 0) break;
    const bool ok = co_await up.message_data(std::string_view(buf.data(), n));
    if (!ok) {
      rep.error = lost("DATA");
      co_return rep;
    }
  }
  auto end = co_await up.message_end();
  if (!end) {
    rep.error = "no final reply to the message: " + up.error();
    co_return rep;
  }
  rep.final_reply = end->summary();
  all_pending(*end, accepted);
  co_return rep;
}

net::awaitable<void> DeliveryEngine::Impl::fail_due(Lane& lane, const std::string& error) {
  // Office 365 (or the token endpoint) is unreachable for this lane: no new
  // connection for a moment, so messages queued during an outage do not each
  // cost a connection attempt (and a retry line) of their own.
  lane.retry_at = Steady::now() + std::min<std::chrono::steady_clock::duration>(rules().schedule.front(), kOutageBackoff);
  const auto now_ms = unix_ms_now();
  std::vector<std::string> due;
  for (auto i = lane.ready.begin(); i != lane.ready.end() && i->first <= now_ms; ++i) due.push_back(i->second);
  const auto r = rules();
  for (const auto& id : due) {
    // Still due now? Another worker of the lane may have failed the same way
    // a moment ago and charged it already: one failure is one attempt.
    auto it = items.find(id);
    if (it == items.end() || it->second.busy || it->second.held || it->second.next_ms > unix_ms_now()) continue;
    auto locked = claim(id);
    if (!locked) continue;
    spool::AttemptReport report;
    report.error = error;
    report.final_reply = "-";
    auto decision = spool::decide(locked->entry().envelope, locked->entry().state, report, unix_ms_now(), r, rng);
    co_await conclude(std::move(*locked), decision, report);
  }
}

net::awaitable<void> DeliveryEngine::Impl::conclude(spool::LockedEntry locked, const spool::Decision& d,
                                                   const spool::AttemptReport& report) {
  const auto& env = locked.entry().envelope;
  const std::string id = env.id;
  std::string failure;
  // The files first, then the log line: what the line says is on disk.
  try {
    switch (d.next) {
      case spool::Next::remove:
        co_await blocking_call(svc.blocking, [&] { store.remove(locked); });
        break;
      case spool::Next::retry:
        co_await blocking_call(svc.blocking, [&] { store.write_state(locked, d.state); });
        break;
      case spool::Next::final:
        co_await blocking_call(svc.blocking, [&] {
          store.write_state(locked, d.state);
          finish_final(locked, d.state, d.failed);
        });
        break;
    }
  } catch (const spool::SpoolError& e) {
    failure = e.what();
  }
  const auto level = d.outcome == "delivered" ? LogLevel::info : LogLevel::warn;
  const std::string next = d.next == spool::Next::retry ? iso_utc(d.state.next_attempt_ms) : "-";
  svc.log.log(level, env.session, "delivery",
              {{"id", id}, {"mailbox", env.mailbox}, {"tenant", env.tenant}, {"attempt", d.state.attempts},
               {"outcome", d.outcome}, {"reply", report.final_reply.empty() ? "-" : report.final_reply},
               {"error", report.error.empty() ? "-" : report.error}, {"next_attempt", next},
               {"rcpts", env.rcpts.size()}, {"dsn", env.is_dsn ? "yes" : "no"}});
  svc.metrics.add("xoauth2_relay_spool_deliveries_total", {{"outcome", d.outcome}});
  if (!report.final_reply.empty() && report.final_reply != "-")
    svc.metrics.add("xoauth2_relay_upstream_replies_total", {{"class", report.final_reply.substr(0, 1) + "xx"}});

  auto it = items.find(id);
  if (it == items.end()) co_return;
  if (!failure.empty()) {
    // The entry stays as it is on disk and is tried again later.
    svc.log.error(env.session, "spool_error", {{"id", id}, {"error", failure}});
    it->second.busy = false;
    it->second.next_ms = unix_ms_now() + 60000;
    make_ready(id);
  } else if (d.next == spool::Next::retry) {
    it->second.busy = false;
    it->second.next_ms = d.state.next_attempt_ms;
    make_ready(id);
  } else {
    erase(id);
  }
  poke();
}

// Blocking; may run on the blocking pool: touches only the store and posts
// index changes to the engine's context.
void DeliveryEngine::Impl::finish_final(spool::LockedEntry& locked, const spool::DeliveryState& state,
                                        const std::vector<spool::FailedRecipient>& failed) {
  const auto& env = locked.entry().envelope;
  auto snap = current();
  const auto& sp = snap->config.spool ? *snap->config.spool : cfg;
  const std::string to = sp.bounce_to ? *sp.bounce_to : env.mail_from;
  if (env.is_dsn || to.empty() || failed.empty()) {
    const char* reason = env.is_dsn ? "a bounce is never bounced"
                         : failed.empty() ? "nothing failed"
                                          : "null sender and no spool.bounce_to";
    if (!failed.empty())
      svc.log.warn(env.session, "bounce_dropped", {{"id", env.id}, {"mailbox", env.mailbox}, {"reason", reason}});
    store.remove(locked);
    return;
  }
  const auto dsn_id = spool::dsn_id_for(env.id);
  if (!store.load(dsn_id)) {
    spool::DsnRequest req;
    req.reporting_mta = snap->config.hostname;
    req.original = env;
    req.original_headers = locked.header_block();
    req.failed = failed;
    req.expired = state.expired;
    req.now_ms = unix_ms_now();
    req.to = to;
    auto dsn_env = spool::dsn_envelope(env, to, req.now_ms);
    auto text = spool::build_dsn(req);
    spool::Writer w = [&] {
      std::lock_guard g(begin_mutex);
      return store.begin(dsn_env);
    }();
    w.write(text);
    const auto bytes = w.commit();
    svc.metrics.add("xoauth2_relay_spool_bounces_total", {});
    svc.log.info(env.session, "bounce", {{"id", env.id}, {"dsn", dsn_id}, {"to", to}, {"failed", failed.size()},
                                         {"expired", state.expired ? "yes" : "no"}});
    net::post(ctx, [self = shared_from_this(), dsn_env, bytes] {
      self->add(dsn_env.id, dsn_env, spool::DeliveryState{}, bytes);
      self->poke();
    });
  }
  store.remove(locked);
}

}  // namespace xr::relay
