#include "relay/server.hpp"

#include "auth/token_provider.hpp"
#include "relay/asio.hpp"
#include "relay/runtime.hpp"
#include "relay/session_registry.hpp"
#include "relay/mailbox_session.hpp"
#include "relay/smtp_session.hpp"

#include <sys/resource.h>
#include <systemd/sd-daemon.h>

#include <csignal>
#include <thread>

namespace xr::relay {
namespace {

using conf::LogLevel;

// Token events become log lines a person can act on.
class LogTokenObserver : public auth::TokenObserver {
 public:
  explicit LogTokenObserver(Logger& log) : log_(log) {}
  void token_fetched(const std::string& tenant, std::chrono::seconds lifetime,
                     std::chrono::milliseconds took) override {
    log_.info("", "token_ok", {{"tenant", tenant}, {"lifetime_s", lifetime.count()}, {"ms", took.count()}});
  }
  void token_failed(const std::string& tenant, const auth::TokenError& e, int attempt, bool will_retry) override {
    log_.log(will_retry ? LogLevel::warn : LogLevel::error, "", "token_failed",
             {{"tenant", tenant}, {"error", e.summary}, {"fix", e.fix}, {"http_status", e.http_status},
              {"attempt", attempt}, {"retry", will_retry ? "yes" : "no"},
              {"trace_id", e.trace_id.empty() ? "-" : e.trace_id},
              {"correlation_id", e.correlation_id.empty() ? "-" : e.correlation_id}});
  }

 private:
  Logger& log_;
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

class Server {
 public:
  Server(std::shared_ptr<const ConfigSnapshot> snap, const ServerOptions& opts, Logger& log)
      : opts_(opts),
        log_(log),
        snapshot_(std::move(snap)),
        token_observer_(log),
        tokens_(auth::make_curl_http_client(), token_observer_, token_options(snapshot_->config)),
        login_cache_(snapshot_->config.limits.login_cache_ttl),
        blocking_(2),
        services_{log_, tokens_, login_cache_, blocking_, active_, mailbox_slots_} {
    int n = opts.io_threads > 0 ? opts.io_threads : int(std::max(1u, std::thread::hardware_concurrency()));
    for (int i = 0; i < n; ++i) contexts_.push_back(std::make_unique<net::io_context>(1));
    tokens_.set_tenants(snapshot_->config.tenants);
  }

  int run() {
    raise_fd_limit(log_);
    auto& main_ctx = *contexts_[0];
    for (auto& c : contexts_) guards_.emplace_back(c->get_executor());
    try {
      bind_listeners(main_ctx);
    } catch (const std::exception& e) {
      log_.error("", "startup_failed", {{"error", e.what()}});
      return 1;
    }
    net::signal_set signals(main_ctx, SIGINT, SIGTERM, SIGHUP);
    wait_signal(signals);

    log_.info("", "ready", {{"listeners", std::to_string(acceptors_.size())},
                            {"io_threads", std::to_string(contexts_.size())},
                            {"hostname", current()->config.hostname}});
    sd_notify(0, "READY=1\nSTATUS=accepting connections");

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

  void bind_listeners(net::io_context& ctx) {
    const auto& cfg = current()->config;
    for (std::size_t i = 0; i < cfg.listeners.size(); ++i) {
      const auto& l = cfg.listeners[i];
      tcp::endpoint ep(net::ip::make_address(l.address), l.port);
      auto acc = std::make_unique<tcp::acceptor>(ctx);
      boost::system::error_code ec;
      acc->open(ep.protocol(), ec);
      if (!ec) acc->set_option(tcp::acceptor::reuse_address(true), ec);
      // "[::]" then means IPv6 only, so "0.0.0.0" can be listed beside it.
      if (!ec && ep.address().is_v6()) acc->set_option(net::ip::v6_only(true), ec);
      if (!ec) acc->bind(ep, ec);
      // A large backlog: bursts of devices must queue, not be refused.
      if (!ec) acc->listen(4096, ec);
      if (ec) throw std::runtime_error("cannot listen on " + l.listen + ": " + ec.message());
      log_.info("", "listening", {{"listener", l.name()}, {"tls", conf::to_string(l.tls)}});
      net::co_spawn(ctx, accept_loop(*acc, i), net::detached);
      acceptors_.push_back(std::move(acc));
    }
    if (acceptors_.empty()) throw std::runtime_error("no listener could be started");
  }

  net::io_context& next_context() { return *contexts_[next_++ % contexts_.size()]; }

  net::awaitable<void> accept_loop(tcp::acceptor& acceptor, std::size_t listener_index) {
    for (;;) {
      auto& target = next_context();
      auto [ec, socket] = co_await acceptor.async_accept(target, net::as_tuple(net::use_awaitable));
      if (ec == net::error::operation_aborted || stopping_) co_return;
      if (ec) {
        // EMFILE and friends: back off briefly instead of spinning.
        log_.error("", "accept_failed", {{"error", ec.message()}});
        net::steady_timer t(acceptor.get_executor(), std::chrono::milliseconds(100));
        co_await t.async_wait(net::as_tuple(net::use_awaitable));
        continue;
      }
      auto snap = current();
      if (active_.load() >= snap->config.limits.max_sessions) {
        net::co_spawn(target, refuse(std::move(socket), snap->config.listeners.at(listener_index)), net::detached);
        continue;
      }
      ++active_;
      net::co_spawn(target, session(std::move(socket), std::move(snap), listener_index), net::detached);
    }
  }

  net::awaitable<void> session(tcp::socket socket, std::shared_ptr<const ConfigSnapshot> snap, std::size_t idx) {
    try {
      switch (snap->config.listeners.at(idx).protocol) {
        case conf::Protocol::smtp:
          co_await run_smtp_session(std::move(socket), std::move(snap), idx, services_, registry_);
          break;
        case conf::Protocol::imap:
          co_await run_imap_session(std::move(socket), std::move(snap), idx, services_, registry_);
          break;
        case conf::Protocol::pop3:
          co_await run_pop3_session(std::move(socket), std::move(snap), idx, services_, registry_);
          break;
      }
    } catch (const std::exception& e) {
      log_.error("", "session_crashed", {{"error", e.what()}});
    }
    --active_;
  }

  // The protocol's own "busy" answer, in the clear; an implicit-TLS client
  // could not read it, so it just sees the connection close.
  static std::string_view busy_reply(const conf::Listener& l) {
    if (l.tls == conf::TlsMode::implicit) return {};
    switch (l.protocol) {
      case conf::Protocol::smtp: return "421 4.3.2 Too many connections, try again later\r\n";
      case conf::Protocol::imap: return "* BYE [UNAVAILABLE] Too many connections, try again later\r\n";
      case conf::Protocol::pop3: return "-ERR [SYS/TEMP] Too many connections, try again later\r\n";
    }
    return {};
  }

  net::awaitable<void> refuse(tcp::socket socket, const conf::Listener& listener) {
    log_.warn("", "session_refused", {{"reason", "max_sessions reached"}, {"listener", listener.name()},
                                      {"max_sessions", current()->config.limits.max_sessions}});
    const std::string_view msg = busy_reply(listener);
    net::steady_timer t(socket.get_executor(), std::chrono::seconds(5));
    using namespace net::experimental::awaitable_operators;
    co_await (net::async_write(socket, net::buffer(msg), net::as_tuple(net::use_awaitable)) ||
              t.async_wait(net::as_tuple(net::use_awaitable)));
    boost::system::error_code ignored;
    socket.close(ignored);
  }

  void wait_signal(net::signal_set& signals) {
    signals.async_wait([this, &signals](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        reload();
        wait_signal(signals);
        return;
      }
      log_.info("", "shutdown", {{"signal", sig == SIGTERM ? "TERM" : "INT"},
                                 {"active_sessions", active_.load()}});
      sd_notify(0, "STOPPING=1");
      shutdown();
    });
  }

  void reload() {
    sd_notify(0, "RELOADING=1");
    auto loaded = conf::load_config(opts_.config_path);
    if (!loaded.config) {
      for (const auto& e : loaded.errors)
        log_.error("", "reload_failed", {{"error", e.format()}});
      log_.error("", "reload_failed", {{"result", "the running configuration is kept"}});
      sd_notify(0, "READY=1");
      return;
    }
    try {
      auto snap = ConfigSnapshot::build(std::move(*loaded.config));
      auto old = current();
      bool listeners_changed = snap->config.listeners.size() != old->config.listeners.size();
      for (std::size_t i = 0; !listeners_changed && i < snap->config.listeners.size(); ++i)
        listeners_changed = snap->config.listeners[i].listen != old->config.listeners[i].listen ||
                            snap->config.listeners[i].protocol != old->config.listeners[i].protocol;
      if (listeners_changed)
        log_.warn("", "reload_listeners", {{"result", "listener addresses changed: restart to apply them"}});
      log_.configure(snap->config.log_level, snap->config.log_format);
      tokens_.set_tenants(snap->config.tenants);
      login_cache_.set_ttl(snap->config.limits.login_cache_ttl);
      login_cache_.flush();
      {
        std::lock_guard lock(snapshot_mutex_);
        // Listener indexes of running accept loops refer to the old list
        // when it changed; keep the old listeners then.
        if (!listeners_changed) snapshot_ = snap;
      }
      log_.info("", "reloaded", {{"users", snap->config.users.size()}, {"tenants", snap->config.tenants.size()}});
    } catch (const std::exception& e) {
      log_.error("", "reload_failed", {{"error", e.what()}, {"result", "the running configuration is kept"}});
    }
    sd_notify(0, "READY=1");
  }

  void shutdown() {
    stopping_ = true;
    for (auto& a : acceptors_) {
      boost::system::error_code ignored;
      a->close(ignored);
    }
    registry_.interrupt_all();
    net::co_spawn(*contexts_[0], drain(), net::detached);
  }

  // Sessions finish their message and say 421; after the grace period the
  // remaining ones are cut.
  net::awaitable<void> drain() {
    auto deadline = std::chrono::steady_clock::now() + current()->config.limits.shutdown_grace;
    net::steady_timer t(co_await net::this_coro::executor);
    while (active_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
      t.expires_after(std::chrono::milliseconds(50));
      co_await t.async_wait(net::as_tuple(net::use_awaitable));
    }
    if (active_.load() > 0) log_.warn("", "shutdown_forced", {{"sessions_cut", active_.load()}});
    guards_.clear();
    for (auto& c : contexts_) c->stop();
  }

  ServerOptions opts_;
  Logger& log_;
  // Declared first so they are destroyed last: sessions still suspended at a
  // forced shutdown live in the contexts (and unlist themselves from the
  // registry as they are destroyed), and the token provider's destructor
  // posts its final answers into the contexts.
  SessionRegistry registry_;
  std::vector<std::unique_ptr<net::io_context>> contexts_;
  std::mutex snapshot_mutex_;
  std::shared_ptr<const ConfigSnapshot> snapshot_;
  LogTokenObserver token_observer_;
  auth::TokenProvider tokens_;
  auth::LoginCache login_cache_;
  net::thread_pool blocking_;
  std::atomic<std::size_t> active_{0};
  MailboxSlots mailbox_slots_;
  Services services_;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards_;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors_;
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
