#include "relay/server.hpp"

#include "auth/credential_expiry.hpp"
#include "auth/token_keys.hpp"
#include "auth/token_provider.hpp"
#include "protocols/imap_server.hpp"
#include "protocols/pop3_server.hpp"
#include "protocols/smtp_server.hpp"
#include "relay/admin_server.hpp"
#include "relay/graph/graph_runner.hpp"
#include "relay/asio.hpp"
#include "relay/listen_socket.hpp"
#include "relay/mailbox_session.hpp"
#include "relay/metrics.hpp"
#include "relay/ops/token_status.hpp"
#include "relay/process/drop_privileges.hpp"
#include "relay/runtime.hpp"
#include "relay/session/admission.hpp"
#include "relay/session/sessions_per_ip.hpp"
#include "relay/session_support.hpp"
#include "relay/session_registry.hpp"
#include "relay/smtp_session.hpp"
#include "relay/spool/delivery_engine.hpp"

#include <sys/resource.h>
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <csignal>
#include <ctime>
#include <functional>
#include <thread>

namespace xr::relay {
namespace {

using conf::LogLevel;
using SysClock = std::chrono::system_clock;

// Token events become log lines a person can act on, and counters; every
// fetch's outcome also reaches `changed` (readiness and STATUS=).
class TokenEvents : public auth::TokenObserver {
 public:
  TokenEvents(Logger& log, Metrics& metrics) : log_(log), metrics_(metrics) {}
  void token_fetched(const std::string& tenant, std::chrono::seconds lifetime,
                     std::chrono::milliseconds took) override {
    metrics_.add("xoauth2_relay_token_requests_total", {{"tenant", tenant}, {"outcome", "ok"}});
    log_.info("", "token_ok", {{"tenant", tenant}, {"lifetime_s", lifetime.count()}, {"ms", took.count()}});
  }
  void token_failed(const std::string& tenant, const auth::TokenError& e, const auth::TokenFailure& f) override {
    metrics_.add("xoauth2_relay_token_requests_total", {{"tenant", tenant}, {"outcome", "error"}});
    const auto next_s = std::chrono::ceil<std::chrono::seconds>(f.next_try).count();
    // error: the tenant is left without a token (devices hear 454 4.7.0 until
    // it is fixed); warn: another attempt follows or the old token still serves.
    log_.log(f.will_retry || f.token_still_valid ? LogLevel::warn : LogLevel::error, "", "token_failed",
             {{"tenant", tenant}, {"error", e.summary}, {"fix", e.fix}, {"http_status", e.http_status},
              {"attempt", f.attempt}, {"retry", f.next_try.count() > 0 ? "yes" : "no"},
              {"next_try_s", next_s}, {"token_still_valid", f.token_still_valid ? "yes" : "no"},
              {"trace_id", e.trace_id.empty() ? "-" : e.trace_id},
              {"correlation_id", e.correlation_id.empty() ? "-" : e.correlation_id}});
  }
  void tokens_changed() override {
    if (changed_) changed_();
  }
  // Set once, before any fetch starts.
  void on_change(std::function<void()> f) { changed_ = std::move(f); }

 private:
  Logger& log_;
  Metrics& metrics_;
  std::function<void()> changed_;
};

// Thousands of long sessions need thousands of descriptors: take the hard
// limit (systemd's default hard limit is 512K).
void raise_fd_limit(Logger& log) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur < rl.rlim_max) {
    rlim_t before = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
      log.debug("", "fd_limit", {{"from", std::to_string(before)}, {"to", std::to_string(rl.rlim_cur)}});
  }
}

// A listener is the same across a reload when protocol, address and port
// are; its TLS settings and certificate may change (they live in the snapshot).
std::string listener_key(const conf::Listener& l) { return l.name(); }

class Server {
 public:
  Server(std::shared_ptr<const ConfigSnapshot> snap, const ServerOptions& opts, Logger& log)
      : opts_(opts),
        log_(log),
        snapshot_(std::move(snap)),
        token_events_(log, metrics_),
        tokens_(auth::make_curl_http_client(), token_events_, token_options(snapshot_->config)),
        login_cache_(snapshot_->config.limits.login_cache_ttl),
        blocking_(2),
        throttle_(snapshot_->config.limits, snapshot_->config.trusted_networks),
        graph_(graph::make_curl_client()),
        services_{log_, tokens_, login_cache_, blocking_, active_, mailbox_slots_, metrics_, spool_, throttle_,
                  graph_},
        token_status_(tokens_) {
    int n = opts.io_threads > 0 ? opts.io_threads : int(std::max(1u, std::thread::hardware_concurrency()));
    for (int i = 0; i < n; ++i) contexts_.push_back(std::make_unique<net::io_context>(1));
    // A fetch's outcome (provider thread) updates STATUS= on the main context.
    token_events_.on_change([this] { net::post(*contexts_[0], [this] { publish_token_status(); }); });
    tokens_.set_tenants(auth::token_targets(snapshot_->config));
    metrics_.set("xoauth2_relay_build_info", {{"version", XR_VERSION}}, 1);
  }

  int run() {
    raise_fd_limit(log_);
    auto& main_ctx = *contexts_[0];
    for (auto& c : contexts_) guards_.emplace_back(c->get_executor());
    admin_.emplace(main_ctx, log_, AdminHandlers{[this] { return render_metrics(); }, [this] { return not_ready(); },
                                                 [this] { return throttle_.blocks(); }});
    try {
      const auto& cfg = current()->config;
      // Root outside systemd: a missing server.user stops the start before
      // anything is bound; the drop itself follows the binds.
      auto drop = process::plan_drop(cfg.run_as_user);
      for (const auto& l : cfg.listeners) bind_listener(main_ctx, l);
      if (cfg.admin) admin_->start(*cfg.admin);
      if (drop.target) {
        process::switch_identity(*drop.target);
        log_.info("", "dropped_privileges", {{"user", drop.target->name}, {"uid", std::to_string(drop.target->uid)},
                                             {"gid", std::to_string(drop.target->gid)}});
      } else if (!drop.note.empty()) {
        log_.warn("", "running_as_root", {{"reason", drop.note}});
      }
      // The spool after the drop (its directory belongs to server.user and
      // the store insists on it), still before any session runs: recovery in
      // start() is synchronous, so messages queued before a restart are on
      // their way before new ones arrive, and a spool we cannot own stops
      // the start.
      if (cfg.spool) start_spool(*cfg.spool);
    } catch (const std::exception& e) {
      log_.error("", "startup_failed", {{"error", e.what()}});
      return 1;
    }
    net::signal_set signals(main_ctx, SIGINT, SIGTERM, SIGHUP);
    wait_signal(signals);
    check_credentials();
    net::co_spawn(main_ctx, daily_credential_check(), net::detached);
    net::co_spawn(main_ctx, watchdog(), net::detached);
    // Every tenant's token now, in the background (after the privilege drop:
    // key files are read as the service user, as every later refresh will):
    // a wrong secret shows as token_failed with its fix within seconds, not
    // when the first printer logs in. Sessions share these fetches.
    const auto fetching = fetch_tokens(all_token_keys(current()->config));

    log_.info("", "ready", {{"listeners", std::to_string(acceptors_.size())},
                            {"io_threads", std::to_string(contexts_.size())},
                            {"hostname", current()->config.hostname},
                            {"fetching_tokens", fetching}});
    token_status_.publish(current()->config, "READY=1");

    std::vector<std::thread> threads;
    for (std::size_t i = 1; i < contexts_.size(); ++i) threads.emplace_back([this, i] { contexts_[i]->run(); });
    main_ctx.run();
    for (auto& t : threads) t.join();
    blocking_.join();
    log_.info("", "stopped", {});
    return 0;
  }

 private:
  static auth::TokenProviderOptions token_options(const conf::Config& cfg) {
    auth::TokenProviderOptions o;
    o.http_total_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.limits.token_timeout);
    return o;
  }

  std::shared_ptr<const ConfigSnapshot> current() {
    std::lock_guard lock(snapshot_mutex_);
    return snapshot_;
  }

  // --- spool -------------------------------------------------------------------

  // Throws spool::SpoolError (a directory we do not own, another relay on it).
  void start_spool(const conf::Spool& cfg) {
    engine_ = std::make_unique<DeliveryEngine>(*contexts_[0], services_, [this] { return current(); }, cfg);
    engine_->start();
    spool_.store(engine_.get());
  }

  // --- listeners -------------------------------------------------------------

  struct Acceptor {
    std::string key;
    tcp::acceptor socket;
    Acceptor(std::string k, net::io_context& ctx) : key(std::move(k)), socket(ctx) {}
  };

  // Throws std::runtime_error naming the address.
  void bind_listener(net::io_context& ctx, const conf::Listener& l) {
    auto acc = std::make_shared<Acceptor>(listener_key(l), ctx);
    // A large backlog: bursts of devices must queue, not be refused.
    listen_on(acc->socket, l.address, l.port, 4096, l.listen);
    log_.info("", "listening", {{"listener", l.name()}, {"tls", conf::to_string(l.tls)}});
    net::co_spawn(ctx, accept_loop(acc), net::detached);
    acceptors_.push_back(std::move(acc));
  }

  void close_listener(Acceptor& acc) {
    boost::system::error_code ignored;
    acc.socket.close(ignored);
  }

  // Opens added listeners and closes removed ones; sessions of a removed
  // listener go on with the snapshot they started with.
  void apply_listeners(const conf::Config& cfg) {
    std::vector<std::shared_ptr<Acceptor>> kept;
    for (auto& a : acceptors_) {
      bool wanted = false;
      for (const auto& l : cfg.listeners) wanted = wanted || listener_key(l) == a->key;
      if (wanted) {
        kept.push_back(a);
      } else {
        close_listener(*a);
        log_.info("", "listener_closed", {{"listener", a->key}});
      }
    }
    acceptors_ = std::move(kept);
    for (const auto& l : cfg.listeners) {
      bool open = false;
      for (const auto& a : acceptors_) open = open || a->key == listener_key(l);
      if (open) continue;
      try {
        bind_listener(*contexts_[0], l);
      } catch (const std::exception& e) {
        log_.error("", "listener_failed", {{"listener", l.name()}, {"error", e.what()},
                                           {"fix", "free the port or change listen, then reload"}});
      }
    }
  }

  // The listener's index in the snapshot, which a reload may have changed.
  static std::optional<std::size_t> listener_index(const ConfigSnapshot& snap, const std::string& key) {
    for (std::size_t i = 0; i < snap.config.listeners.size(); ++i)
      if (listener_key(snap.config.listeners[i]) == key) return i;
    return std::nullopt;
  }

  net::io_context& next_context() { return *contexts_[next_++ % contexts_.size()]; }

  net::awaitable<void> accept_loop(std::shared_ptr<Acceptor> acc) {
    for (;;) {
      auto& target = next_context();
      auto [ec, socket] = co_await acc->socket.async_accept(target, net::as_tuple(net::use_awaitable));
      if (ec == net::error::operation_aborted || stopping_ || !acc->socket.is_open()) co_return;
      if (ec) {
        // EMFILE and friends: back off briefly instead of spinning.
        log_.error("", "accept_failed", {{"error", ec.message()}});
        net::steady_timer t(acc->socket.get_executor(), std::chrono::milliseconds(100));
        co_await t.async_wait(net::as_tuple(net::use_awaitable));
        continue;
      }
      auto snap = current();
      auto idx = listener_index(*snap, acc->key);
      if (!idx) continue;  // removed by a reload a moment ago: the socket closes
      const auto& listener = snap->config.listeners[*idx];
      if (active_.load() >= snap->config.limits.max_sessions) {
        metrics_.add("xoauth2_relay_sessions_refused_total", {{"listener", listener.name()}, {"reason", "max_sessions"}});
        boost::system::error_code peer_ec;
        const auto peer = socket.remote_endpoint(peer_ec);
        log_.warn("", "session_refused", {{"reason", "max_sessions"}, {"listener", listener.name()},
                                          {"client", peer_ec ? std::string("unknown") : endpoint_string(peer)},
                                          {"max_sessions", snap->config.limits.max_sessions}});
        net::co_spawn(target, refuse(std::move(socket), busy_reply(listener)), net::detached);
        continue;
      }
      ++active_;
      net::co_spawn(target, session(std::move(socket), std::move(snap), *idx), net::detached);
    }
  }

  // Admission first: who the client is (the PROXY header on a
  // proxy_protocol listener, read before anything is said), then whether
  // that address may have one more session; then the protocol's session.
  net::awaitable<void> session(tcp::socket socket, std::shared_ptr<const ConfigSnapshot> snap, std::size_t idx) {
    const auto& l = snap->config.listeners.at(idx);
    const auto& cfg = snap->config;
    try {
      auto origin = co_await resolve_client(socket, l, cfg.limits, log_);
      std::optional<SessionsPerIp::Token> per_ip;
      // trusted_networks (the printer VLAN behind one NAT address) are exempt.
      if (origin && !cfg.trusted(origin->ip)) {
        per_ip = sessions_per_ip_.try_enter(origin->ip, cfg.limits.max_sessions_per_ip);
        if (!per_ip) {
          metrics_.add("xoauth2_relay_sessions_refused_total", {{"listener", l.name()}, {"reason", "max_sessions_per_ip"}});
          log_.warn("", "session_refused", {{"reason", "max_sessions_per_ip"}, {"listener", l.name()},
                                            {"client", origin->client},
                                            {"max_sessions_per_ip", cfg.limits.max_sessions_per_ip}});
          origin.reset();
          auto refusing = refuse(std::move(socket), per_ip_refusal(l));
          co_await std::move(refusing);
        }
      }
      if (origin) {
        // The protocol's session in this frame, not a coroutine of its own:
        // a second frame would hold a second copy of the socket and origin
        // for the whole session.
        const MetricLabels labels{{"protocol", conf::to_string(l.protocol)}, {"listener", l.name()}};
        metrics_.add("xoauth2_relay_sessions_total", labels);
        metrics_.add("xoauth2_relay_sessions_active", labels);
        try {
          // Started outside the co_await, whose temporaries would stay in
          // this frame for the whole session.
          auto serving = session_runner(l.protocol)(std::move(socket), snap, idx, services_, registry_,
                                                    std::move(*origin));
          co_await std::move(serving);
        } catch (const std::exception& e) {
          log_.error("", "session_crashed", {{"error", e.what()}});
        }
        metrics_.add("xoauth2_relay_sessions_active", labels, -1);
      }
    } catch (const std::exception& e) {
      log_.error("", "session_crashed", {{"error", e.what()}});
    }
    --active_;
  }

  using SessionRunner = net::awaitable<void> (*)(tcp::socket, std::shared_ptr<const ConfigSnapshot>, std::size_t,
                                                  Services&, SessionRegistry&, ClientOrigin);
  static SessionRunner session_runner(conf::Protocol protocol) {
    switch (protocol) {
      case conf::Protocol::smtp: return run_smtp_session;
      case conf::Protocol::imap: return run_imap_session;
      case conf::Protocol::pop3: return run_pop3_session;
    }
    return run_smtp_session;
  }

  // The protocol's own "busy" answer, in the clear; an implicit-TLS client
  // could not read it, so it just sees the connection close.
  static std::string busy_reply(const conf::Listener& l) {
    if (l.tls == conf::TlsMode::implicit) return {};
    switch (l.protocol) {
      case conf::Protocol::smtp: return std::string(smtp::kTooManyConnections) + "\r\n";
      case conf::Protocol::imap: return std::string(imap::kTooManyConnections) + "\r\n";
      case conf::Protocol::pop3: return std::string(pop3::kTooManyConnections) + "\r\n";
    }
    return {};
  }

  // Says `msg` (the protocol's temporary refusal; empty on implicit TLS),
  // bounded, and closes. The caller logged why.
  net::awaitable<void> refuse(tcp::socket socket, const std::string msg) {
    net::steady_timer t(socket.get_executor(), std::chrono::seconds(5));
    using namespace net::experimental::awaitable_operators;
    co_await (net::async_write(socket, net::buffer(msg), net::as_tuple(net::use_awaitable)) ||
              t.async_wait(net::as_tuple(net::use_awaitable)));
    boost::system::error_code ignored;
    socket.close(ignored);
  }

  // --- metrics and readiness -------------------------------------------------

  std::string render_metrics() {
    auto snap = current();
    const auto now = SysClock::now();
    std::vector<std::pair<MetricLabels, double>> token_expiry, credential_expiry, waiting;
    // Per token key ("contoso", "contoso/graph", "acme/scan@acme.com").
    for (const auto& key : all_token_keys(snap->config)) {
      auto st = tokens_.stats(key);
      if (st.has_token)
        token_expiry.push_back({{{"tenant", key}},
                                std::chrono::duration<double>(st.expires_at - auth::Clock::now()).count()});
    }
    for (const auto& [name, tenant] : snap->config.tenants) {
      if (auto e = expiry_of(tenant))
        credential_expiry.push_back({{{"tenant", name}}, std::chrono::duration<double>(e->at - now).count()});
    }
    for (const auto& [key, n] : mailbox_slots_.waiting()) {
      auto k = MailboxSlots::split_key(key);
      waiting.push_back({{{"tenant", k.tenant}, {"protocol", k.protocol}, {"mailbox", k.mailbox}}, double(n)});
    }
    metrics_.replace("xoauth2_relay_token_expiry_seconds", token_expiry);
    metrics_.replace("xoauth2_relay_credential_expiry_seconds", credential_expiry);
    metrics_.replace("xoauth2_relay_mailbox_waiting", waiting);
    if (engine_) {
      auto st = engine_->stats();
      metrics_.set("xoauth2_relay_spool_messages", {}, double(st.messages));
      metrics_.set("xoauth2_relay_spool_bytes", {}, double(st.bytes));
      metrics_.set("xoauth2_relay_spool_oldest_age_seconds", {}, st.oldest_age_s);
    }
    return metrics_.render();
  }

  std::vector<std::string> not_ready() {
    std::vector<std::string> reasons;
    if (stopping_) reasons.push_back("shutting down");
    if (acceptors_.empty()) reasons.push_back("no listener is open");
    if (engine_)
      if (auto why = engine_->not_ready()) reasons.push_back(*why);
    // 503 while a tenant has no token, also during its first fetch: a device
    // arriving now would wait for it, or hear 454 4.7.0.
    for (auto& r : token_status_.not_ready(current()->config)) reasons.push_back(std::move(r));
    return reasons;
  }

  // --- tokens at start and reload ---------------------------------------------

  // Every token the config needs (auth/token_keys.hpp): a Microsoft
  // tenant's, its Graph token, a Google tenant's per mapped mailbox.
  static std::vector<std::string> all_token_keys(const conf::Config& cfg) {
    return auth::token_keys(cfg);
  }

  // Background fetches; returns the names for the log ("-" for none).
  std::string fetch_tokens(const std::vector<std::string>& names) {
    std::string list;
    for (const auto& n : names) {
      tokens_.fetch_soon(n);
      list += (list.empty() ? "" : ",") + n;
    }
    return list.empty() ? "-" : list;
  }

  void publish_token_status() { token_status_.publish(current()->config); }

  // --- credentials that expire -------------------------------------------------

  std::optional<auth::CredentialExpiry> expiry_of(const conf::Tenant& t) {
    try {
      return auth::credential_expiry(t);
    } catch (const std::exception&) {
      return std::nullopt;  // an unreadable certificate is reported by check_credentials
    }
  }

  void check_credentials() {
    const auto now = SysClock::now();
    for (const auto& [name, tenant] : current()->config.tenants) {
      std::optional<auth::CredentialExpiry> e;
      try {
        e = auth::credential_expiry(tenant);
      } catch (const std::exception& ex) {
        log_.error("", "credential_unreadable", {{"tenant", name}, {"error", ex.what()}});
        continue;
      }
      if (!e) continue;
      const auto days = std::chrono::floor<std::chrono::days>(e->at - now).count();
      switch (auth::expiry_state(e->at, now)) {
        case auth::ExpiryState::ok: break;
        case auth::ExpiryState::soon:
          log_.warn("", "credential_expiring", {{"tenant", name}, {"credential", e->credential},
                                                {"days_left", days}, {"fix", auth::expiry_fix(tenant)}});
          break;
        case auth::ExpiryState::expired:
          log_.error("", "credential_expired", {{"tenant", name}, {"credential", e->credential},
                                                {"days_ago", -days}, {"fix", auth::expiry_fix(tenant)}});
          break;
      }
    }
  }

  net::awaitable<void> daily_credential_check() {
    net::steady_timer t(co_await net::this_coro::executor);
    while (!stopping_) {
      t.expires_after(std::chrono::hours(24));
      auto [ec] = co_await t.async_wait(net::as_tuple(net::use_awaitable));
      if (ec || stopping_) co_return;
      check_credentials();
    }
  }

  // WATCHDOG=1 at half of WatchdogSec= from the main context: a wedged event
  // loop stops the pings and systemd restarts the relay.
  net::awaitable<void> watchdog() {
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) co_return;
    net::steady_timer t(co_await net::this_coro::executor);
    while (!stopping_) {
      sd_notify(0, "WATCHDOG=1");
      t.expires_after(std::chrono::microseconds(usec / 2));
      auto [ec] = co_await t.async_wait(net::as_tuple(net::use_awaitable));
      if (ec) co_return;
    }
  }

  // --- signals -----------------------------------------------------------------

  void wait_signal(net::signal_set& signals) {
    signals.async_wait([this, &signals](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        reload();
        wait_signal(signals);
        return;
      }
      log_.info("", "shutdown", {{"signal", sig == SIGTERM ? "TERM" : "INT"},
                                 {"active_sessions", active_.load()},
                                 {"grace_s", current()->config.limits.shutdown_grace.count()}});
      token_status_.stop();
      sd_notify(0, "STOPPING=1\nSTATUS=stopping: draining sessions");
      shutdown();
    });
  }

  void reload_failed(std::string_view why) {
    metrics_.add("xoauth2_relay_config_reloads_total", {{"outcome", "failed"}});
    log_.error("", "reload_failed", {{"error", why}, {"result", "the running configuration is kept"}});
  }

  void reload() {
    // MONOTONIC_USEC lets systemd (253+) match this to its own reload request.
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
               static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL + static_cast<unsigned long long>(ts.tv_nsec) / 1000);
    auto loaded = conf::load_config(opts_.config_path);
    if (!loaded.config) {
      for (const auto& e : loaded.errors) log_.error("", "config_error", {{"error", e.format()}});
      reload_failed(std::to_string(loaded.errors.size()) + " error(s) in " + opts_.config_path);
      sd_notify(0, "READY=1");
      return;
    }
    std::shared_ptr<const ConfigSnapshot> snap;
    try {
      // Re-reads certificates and secret files: rotation without a restart.
      snap = ConfigSnapshot::build(std::move(*loaded.config));
    } catch (const std::exception& e) {
      reload_failed(e.what());
      sd_notify(0, "READY=1");
      return;
    }
    log_.configure(snap->config.log_level, snap->config.log_format);
    for (const auto& w : loaded.warnings) log_.warn("", "config_warning", {{"warning", w.format()}});
    // Live sessions judge their access against the new config (revoked ones
    // end) and log in with it from now on. First: a session must hear of the
    // new config before it can be handed a token of a changed tenant, which
    // it would otherwise present to its old snapshot's endpoint.
    registry_.config_changed(snap);
    // Unchanged tenants keep their token; new and changed ones are fetched at
    // once, and so is an unchanged tenant that has none (the admin may have
    // fixed its app in the portal: a reload is the moment to try again).
    auto refetch = tokens_.set_tenants(auth::token_targets(snap->config));
    for (const auto& name : all_token_keys(snap->config)) {
      const auto st = tokens_.stats(name);
      if (!st.usable && !st.fetching && std::find(refetch.begin(), refetch.end(), name) == refetch.end())
        refetch.push_back(name);
    }
    const auto fetching = fetch_tokens(refetch);
    login_cache_.set_ttl(snap->config.limits.login_cache_ttl);
    login_cache_.flush();
    throttle_.set_limits(snap->config.limits, snap->config.trusted_networks);  // counts and blocks stay
    {
      std::lock_guard lock(snapshot_mutex_);
      snapshot_ = snap;
    }
    apply_listeners(snap->config);
    apply_admin(snap->config);
    apply_spool(snap->config);
    check_credentials();
    metrics_.add("xoauth2_relay_config_reloads_total", {{"outcome", "ok"}});
    log_.info("", "reloaded", {{"users", snap->config.users.size()}, {"tenants", snap->config.tenants.size()},
                               {"listeners", acceptors_.size()}, {"fetching_tokens", fetching}});
    token_status_.publish(snap->config, "READY=1");
  }

  // The queue and its schedule survive a reload; a spool configured for the
  // first time starts now.
  void apply_spool(const conf::Config& cfg) {
    if (engine_) {
      engine_->reload(cfg);
      return;
    }
    if (!cfg.spool) return;
    try {
      start_spool(*cfg.spool);
    } catch (const std::exception& e) {
      log_.error("", "spool_failed", {{"dir", cfg.spool->dir}, {"error", e.what()},
                                      {"result", "delivery: spool users hear 451 until this is fixed and reloaded"}});
    }
  }

  void apply_admin(const conf::Config& cfg) {
    const std::string wanted = cfg.admin ? cfg.admin->listen : "";
    if (wanted == admin_->listen()) {
      if (cfg.admin) admin_->set_allow_from(cfg.admin->allow_from);
      return;
    }
    admin_->stop();
    if (!cfg.admin) return;
    try {
      admin_->start(*cfg.admin);
    } catch (const std::exception& e) {
      log_.error("", "listener_failed", {{"listener", "admin:" + wanted}, {"error", e.what()}});
    }
  }

  // --- shutdown ----------------------------------------------------------------

  void shutdown() {
    stopping_ = true;
    for (auto& a : acceptors_) close_listener(*a);
    registry_.interrupt_all(StopPhase::drain);
    if (engine_) engine_->drain();
    net::co_spawn(*contexts_[0], drain(), net::detached);
  }

  // Device sessions and the spool's upstream connections.
  std::size_t busy() const { return active_.load() + (engine_ ? engine_->active() : 0); }

  net::awaitable<void> wait_for_sessions(std::chrono::steady_clock::time_point deadline) {
    net::steady_timer t(co_await net::this_coro::executor);
    while (busy() > 0 && std::chrono::steady_clock::now() < deadline) {
      t.expires_after(std::chrono::milliseconds(50));
      co_await t.async_wait(net::as_tuple(net::use_awaitable));
    }
  }

  // SMTP sessions finish their message and say 421; relayed IMAP/POP3
  // sessions go on for the grace period, then hear BYE / -ERR.
  net::awaitable<void> drain() {
    co_await wait_for_sessions(std::chrono::steady_clock::now() + current()->config.limits.shutdown_grace);
    if (busy() > 0) {
      log_.warn("", "shutdown_cut", {{"sessions", active_.load()},
                                     {"deliveries", engine_ ? engine_->active() : 0},
                                     {"reason", "grace period over"}});
      registry_.interrupt_all(StopPhase::cut);
      // Spooled messages in flight stay queued and are retried after the restart.
      if (engine_) engine_->cut();
      // Graph sends still running end now (a device hears nothing: no false 250).
      graph_.shutdown();
      co_await wait_for_sessions(std::chrono::steady_clock::now() + std::chrono::seconds(5));
    }
    if (active_.load() > 0) log_.warn("", "shutdown_forced", {{"sessions_cut", active_.load()}});
    admin_->stop();
    guards_.clear();
    for (auto& c : contexts_) c->stop();
  }

  ServerOptions opts_;
  Logger& log_;
  Metrics metrics_;
  // Declared first so they are destroyed last: sessions still suspended at a
  // forced shutdown live in the contexts (and unlist themselves from the
  // registry as they are destroyed), and the token provider's destructor
  // posts its final answers into the contexts.
  SessionRegistry registry_;
  SessionsPerIp sessions_per_ip_;  // sessions hold tokens of it
  std::vector<std::unique_ptr<net::io_context>> contexts_;
  std::mutex snapshot_mutex_;
  std::shared_ptr<const ConfigSnapshot> snapshot_;
  TokenEvents token_events_;
  auth::TokenProvider tokens_;
  auth::LoginCache login_cache_;
  net::thread_pool blocking_;
  std::atomic<std::size_t> active_{0};
  MailboxSlots mailbox_slots_;
  std::atomic<DeliveryEngine*> spool_{nullptr};
  auth::AuthThrottle throttle_;
  GraphRunner graph_;  // before services_, which refers to it
  Services services_;
  TokenStatus token_status_;  // main context only
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards_;
  // Main context only: bound at start, changed by reloads (signals) and read by
  // /readyz, all on contexts_[0].
  std::vector<std::shared_ptr<Acceptor>> acceptors_;
  std::optional<AdminServer> admin_;
  // On the main context; destroyed before the contexts it uses.
  std::unique_ptr<DeliveryEngine> engine_;
  std::size_t next_ = 0;
  std::atomic<bool> stopping_{false};
};

}  // namespace

int run_server(conf::Config config, const ServerOptions& options, Logger& log) {
  // OpenSSL writes to sockets with plain send(): a peer that vanished must
  // give EPIPE, not kill the relay.
  std::signal(SIGPIPE, SIG_IGN);
  std::shared_ptr<const ConfigSnapshot> snap;
  try {
    snap = ConfigSnapshot::build(std::move(config));
  } catch (const std::exception& e) {
    log.error("", "startup_failed", {{"error", e.what()}});
    return 1;
  }
  Server server(std::move(snap), options, log);
  return server.run();
}

}  // namespace xr::relay
