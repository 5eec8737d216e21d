#include "relay/mailbox_session.hpp"

#include "auth/login_refusal.hpp"
#include "protocols/imap_client.hpp"
#include "protocols/imap_server.hpp"
#include "protocols/pop3_client.hpp"
#include "protocols/pop3_server.hpp"
#include "relay/connection.hpp"
#include "relay/session_core.hpp"
#include "relay/session_registry.hpp"
#include "relay/session_support.hpp"
#include "relay/splice.hpp"
#include "relay/token_wait.hpp"
#include "relay/net/upstream_connect.hpp"
#include "relay/upstream_login.hpp"

#include <optional>
#include <vector>

namespace xr::relay {
namespace {

using conf::LogLevel;

// What differs between IMAP and POP3; the session logic is the same.
struct Imap {
  using Server = imap::Server;
  using Options = imap::ServerOptions;
  using Client = imap::Client;
  static constexpr conf::Protocol protocol = conf::Protocol::imap;
  static constexpr const char* name = "imap";
  static constexpr const char* role = "IMAP.AccessAsApp";
  static constexpr std::string_view shutdown_notice = imap::kShutdownNotice;
  static constexpr std::string_view revoked_notice = "* BYE [UNAVAILABLE] Configuration changed, log in again";
  static constexpr std::string_view too_many_failed_logins = imap::kTooManyFailedLogins;
  static const conf::Endpoint& endpoint(const conf::Tenant& t) { return t.imap; }
};

struct Pop3 {
  using Server = pop3::Server;
  using Options = pop3::ServerOptions;
  using Client = pop3::Client;
  static constexpr conf::Protocol protocol = conf::Protocol::pop3;
  static constexpr const char* name = "pop3";
  static constexpr const char* role = "POP.AccessAsApp";
  static constexpr std::string_view shutdown_notice = pop3::kShutdownNotice;
  static constexpr std::string_view revoked_notice = "-ERR [SYS/TEMP] Configuration changed, log in again";
  static constexpr std::string_view too_many_failed_logins = pop3::kTooManyFailedLogins;
  static const conf::Endpoint& endpoint(const conf::Tenant& t) { return t.pop3; }
};

template <typename Options>
Options front_options(const conf::Config& cfg, const conf::Listener& l, const char* protocol) {
  Options o;
  o.greeting = cfg.hostname + " xoauth2-relay " + protocol + " ready";
  o.starttls_offered = l.tls == conf::TlsMode::starttls;
  o.tls_active = l.tls == conf::TlsMode::implicit;
  o.allow_plaintext_auth = l.allow_plaintext_auth;
  o.max_line_length = cfg.limits.max_line_length;  // a longer line: * BAD / -ERR, never buffered
  return o;
}

// Login-phase reads: commands and upstream replies are short.
constexpr std::size_t kLoginBuffer = 4096;

template <typename P>
class MailboxSession : public SessionCore {
 public:
  MailboxSession(tcp::socket socket, std::shared_ptr<const ConfigSnapshot> snap, std::size_t listener_index,
                 Services& svc, ClientOrigin origin)
      : SessionCore(std::move(socket), std::move(snap), listener_index, svc, std::move(origin)),
        machine_(std::make_unique<typename P::Server>(front_options<typename P::Options>(cfg_, listener_, P::name))),
        buf_(kLoginBuffer) {}

  // A relayed session is given the grace period: an IMAP client in the
  // middle of a large FETCH finishes it. Before that, stopping is immediate.
  void interrupt(StopPhase phase) {
    stopping_ = true;
    if (!splice_) conn_.interrupt();
    else if (phase == StopPhase::cut) splice_->stop();
  }

  // A reload (SessionRegistry): a grant it revoked ends the session as a
  // shutdown's cut does (a spliced session hears BYE / -ERR now); later
  // logins use the new config.
  void reloaded(std::shared_ptr<const ConfigSnapshot> snap) {
    const auto why = access_.reloaded(std::move(snap), grant_ ? &*grant_ : nullptr, client_ip_, P::protocol);
    if (why == auth::Revocation::none) return;
    report_revocation(svc_, id_, why, *grant_, P::protocol);
    interrupt(StopPhase::cut);
  }

  net::awaitable<void> run() {
    opened();
    const bool admitted = co_await admit_source(svc_, id_, listener_, client_, client_ip_, conn_, P::too_many_failed_logins);
    if (!admitted) {
      login_outcome("auth_blocked");
      summary();
      co_return;
    }
    // Never `if (!co_await ...)`: GCC 12 miscompiles it (the frame is
    // resumed after its end); a named result is safe.
    const bool tls_ok = co_await accept_tls();
    if (!tls_ok) {
      summary();
      co_return;
    }
    machine_->start();
    co_await loop();
    note_login_before_tls();
    if (upstream_) co_await upstream_->close(std::chrono::seconds(5));
    slot_.reset();
    co_await conn_.close(std::chrono::seconds(5));
    summary();
  }

 private:
  void summary() {
    svc_.metrics.add("xoauth2_relay_bytes_total", {{"protocol", P::name}, {"direction", "device_to_office365"}},
                     double(bytes_in_));
    svc_.metrics.add("xoauth2_relay_bytes_total", {{"protocol", P::name}, {"direction", "office365_to_device"}},
                     double(bytes_out_));
    log(LogLevel::info, "session_end",
        with_mistake_hint({{"client", client_}, {"listener", listener_.name()}, {"protocol", P::name},
                           {"user", user_.empty() ? tried_.user : user_}, {"mailbox", tried_.mailbox},
                           {"tenant", tried_.tenant}, {"bytes_in", bytes_in_}, {"bytes_out", bytes_out_},
                           {"result", result_}, {"duration_ms", ms_since(started_)}}));
  }

  net::awaitable<bool> flush() {
    std::string out = machine_->take_output();
    if (out.empty()) co_return true;
    const bool sent = co_await send_to_device(out);
    co_return sent;
  }

  net::awaitable<void> loop() {
    for (;;) {
      switch (machine_->next()) {
        case LoginEvent::need_input: {
          note_login_before_tls();
          {
            const bool ok = co_await flush();
            if (!ok) co_return;
          }
          auto r = co_await conn_.read_some(net::buffer(buf_), command_wait(bytes_in_ > 0));
          if (r.ok()) {
            bytes_in_ += r.bytes;
            const std::string_view got(buf_.data(), r.bytes);
            // An SMTP or POP3 client here, or TLS where plaintext is
            // expected (the client then can read no reply: the session ends).
            const bool tls_client = sniff_first_line(got, machine_->tls_active());
            if (tls_client) co_return;
            machine_->feed(got);
          } else if (r.status == IoStatus::timeout) {
            result_ = "timeout";
            machine_->timeout();
          } else if (r.status == IoStatus::interrupted) {
            machine_->shutdown();
          } else {
            machine_->eof();
          }
          break;
        }
        case LoginEvent::start_tls: {
          {
            const bool ok = co_await flush();
            if (!ok) co_return;
          }
          const bool handshaken = co_await handshake_device();
          if (!handshaken) co_return;
          machine_->tls_started();
          break;
        }
        case LoginEvent::authenticate:
          {
            const bool ok = co_await flush();
            if (!ok) co_return;
          }
          co_await authenticate();
          if (auth_blocked_ || ended_) co_return;
          break;
        case LoginEvent::logged_in:
          {
            const bool ok = co_await flush();
            if (!ok) co_return;
          }
          co_await relay_bytes();
          co_return;
        case LoginEvent::close:
          co_await flush();
          co_return;
      }
    }
  }

  // LOGIN/USER/AUTHENTICATE before STARTTLS/STLS (or on a listener without
  // TLS and without allow_plaintext_auth): the client hears NO/-ERR, which
  // most panels show as a wrong password. Once per session.
  void note_login_before_tls() {
    // machine_ is gone once the splice runs: the login succeeded then.
    if (machine_) SessionCore::note_login_before_tls(machine_->logins_refused_without_tls());
  }

  net::awaitable<void> authenticate() {
    user_ = machine_->user();
    std::string password = machine_->password();
    std::string mech = machine_->mechanism();
    auto t0 = SteadyClock::now();
    // A reload since this connection was accepted applies to its login: the
    // newest config decides (password, sources, tenant).
    const auto login_snap = access_.latest();
    auto checked = co_await check_login_throttled(svc_, login_snap->config, user_, password, client_ip_, P::protocol);
    if (!checked.blocked.ok()) {
      // Refused before any password check; the session ends.
      co_await refuse_blocked_login(P::protocol, user_, checked.blocked, P::too_many_failed_logins);
      co_return;
    }
    auto& decision = checked.decision;
    svc_.metrics.add("xoauth2_relay_logins_total", {{"protocol", P::name}, {"outcome", login_metric_outcome(decision)}});
    if (!decision.grant) {
      log(LogLevel::warn, "auth_failed", {{"client", client_}, {"user", user_}, {"mechanism", mech},
                                          {"reason", auth::to_string(decision.failure)}});
      co_await failed_login_pause();
      login_outcome("auth_failed");
      machine_->complete_auth(LoginOutcome::bad_credentials, {});
      user_.clear();
      co_return;
    }
    log(LogLevel::info, "auth_ok", {{"user", user_}, {"mechanism", mech}, {"mailbox", decision.grant->mailbox},
                                    {"tenant", decision.grant->tenant}, {"cached", decision.cached ? "yes" : "no"},
                                    {"check_ms", ms_since(t0)}});
    grant_ = std::move(decision.grant);
    tried_ = {user_, grant_->mailbox, grant_->tenant};
    const auto why = access_.granted(login_snap, *grant_, client_ip_, P::protocol);
    if (why != auth::Revocation::none) report_revocation(svc_, id_, why, *grant_, P::protocol);
    if (access_.revoked() != auth::Revocation::none) {
      // A reload during the check took the grant away again. The session
      // ends, as SMTP's does: a revocation is never cleared, so staying open
      // would refuse every later LOGIN (after paying its password check).
      co_await end_revoked();
      co_return;
    }
    co_await open_upstream();
  }

  // A revoked session before the splice: BYE / -ERR, then the loop ends and
  // run() closes the connection.
  net::awaitable<void> end_revoked() {
    login_outcome("revoked");
    upstream_.reset();
    slot_.reset();
    grant_.reset();
    ended_ = true;
    const std::string notice = std::string(P::revoked_notice) + "\r\n";
    co_await send_to_device(notice);
  }

  void count_upstream_login(const char* outcome) {
    svc_.metrics.add("xoauth2_relay_upstream_logins_total", {{"protocol", P::name}, {"outcome", outcome}});
  }

  void refuse(LoginOutcome outcome, std::string text) {
    login_outcome(outcome == LoginOutcome::upstream_refused ? "upstream_refused" : "upstream_unavailable");
    upstream_.reset();
    slot_.reset();
    grant_.reset();
    machine_->complete_auth(outcome, std::move(text));
  }

  net::awaitable<void> open_upstream() {
    // The grant's snapshot: the tenant's endpoint and TLS context go with
    // the token (a login after a reload has the new one, not the session's).
    const auto gsnap = access_.grant_snap();
    const auto& tenant = gsnap->config.tenants.at(grant_->tenant);
    const auto& ep = P::endpoint(tenant);
    auto t0 = SteadyClock::now();
    slot_ = co_await svc_.mailbox_slots.acquire(MailboxSlots::key(grant_->tenant, P::name, grant_->mailbox),
                                                ep.max_connections_per_mailbox, cfg_.limits.mailbox_wait_timeout);
    if (!slot_) {
      log(LogLevel::warn, "mailbox_busy", {{"mailbox", grant_->mailbox}, {"max_connections", ep.max_connections_per_mailbox},
                                           {"waited_ms", ms_since(t0)}});
      refuse(LoginOutcome::unavailable, "Too many connections to this mailbox, try again later");
      co_return;
    }
    auto token = co_await wait_for_token(svc_.tokens, tenant, P::protocol, grant_->mailbox, cfg_.limits.token_timeout);
    if (!token.ok) {
      log(LogLevel::error, "token_unavailable",
          {{"tenant", grant_->tenant}, {"error", token.error.summary}, {"fix", token.error.fix}});
      refuse(LoginOutcome::unavailable, "Office 365 sign-in is unavailable, try again later");
      co_return;
    }
    if (access_.revoked() != auth::Revocation::none) {
      // A reload revoked the grant while we waited: its token may be the
      // new config's, which must not go to this snapshot's endpoint.
      co_await end_revoked();
      co_return;
    }
    const std::string peer = ep.host + ":" + std::to_string(ep.port);
    upstream_ = std::make_unique<Connection>(tcp::socket(co_await net::this_coro::executor),
                                             *gsnap->upstream_tls.at(grant_->tenant));
    // Through the tenant's outbound proxy when it has one for this host.
    const conf::EgressProxy* proxy = tenant.proxy_for(ep.host);
    const std::string via = proxy ? proxy->url : "-";
    // STARTTLS upstream is not offered by Office 365 for IMAP/POP3: implicit TLS.
    auto failed = co_await connect_upstream(*upstream_, ep, proxy, cfg_.limits.upstream_connect_timeout, true);
    if (failed) {
      count_upstream_login("unavailable");
      log(LogLevel::warn, "upstream_failed", {{"upstream", peer}, {"mailbox", grant_->mailbox},
                                              {"status", failed->tls ? "tls_failed" : "connect_failed"},
                                              {"hop", to_string(failed->hop)}, {"proxy", via},
                                              {"detail", failed->detail}});
      refuse(LoginOutcome::unavailable, "Office 365 is not reachable, try again later");
      co_return;
    }
    typename P::Client client(LoginClientOptions{grant_->mailbox}, std::string(token.token.value.reveal()));
    std::string io_problem;  // a timeout or reset, when that is what ended the login
    const auto login = co_await drive_login(*upstream_, client, cfg_.limits.upstream_reply_timeout, io_problem);
    if (login == ClientEvent::failed) {
      const bool refused = client.failure() == LoginFailure::auth_refused;
      const bool busy = client.failure() == LoginFailure::temporary;
      count_upstream_login(refused ? "refused" : "unavailable");
      std::string cause = "-";
      if (refused && tenant.provider == conf::Provider::google)
        cause = auth::google_login_refused_cause(tenant, P::protocol);
      else if (refused)
        cause = std::string("the app lacks the ") + P::role +
                " role or Exchange access to this mailbox (Add-MailboxPermission), "
                "or the service principal is not registered (New-ServicePrincipal)";
      else if (busy)
        cause = "Office 365 is busy for this mailbox: too many connections (keep tenants." + grant_->tenant + "." +
                P::name + ".max_connections_per_mailbox within Exchange's limit) or throttling";
      log(refused ? LogLevel::error : LogLevel::warn, "upstream_failed",
          {{"upstream", peer}, {"mailbox", grant_->mailbox}, {"tenant", grant_->tenant},
           {"status", to_string(client.failure())}, {"hop", "upstream"}, {"proxy", via},
           {"reply", client.failure_text()}, {"io", io_problem},
           {"likely_cause", cause}});
      if (refused) refuse(LoginOutcome::upstream_refused, {});
      else if (busy) refuse(LoginOutcome::unavailable, "Office 365 is busy for this mailbox, try again later");
      else refuse(LoginOutcome::unavailable, "Office 365 did not complete the login, try again later");
      co_return;
    }
    count_upstream_login("ok");
    log(LogLevel::info, "upstream_ok", {{"upstream", peer}, {"mailbox", grant_->mailbox}, {"proxy", via},
                                        {"tls_resumed", upstream_->tls_resumed() ? "yes" : "no"}, {"ms", ms_since(t0)}});
    upstream_leftover_ = client.take_leftover();
    login_outcome("ok");
    machine_->complete_auth(LoginOutcome::ok, client.capabilities());
  }

  net::awaitable<void> relay_bytes() {
    // Bytes each side sent early (pipelined after the login / after the
    // tagged OK) go first, in order.
    std::string early_client = machine_->take_leftover();
    // What the login needed is released: a session idling in IDLE for hours
    // keeps only the two connections.
    machine_.reset();
    std::vector<char>().swap(buf_);
    if (!early_client.empty()) {
      auto w = co_await upstream_->write_all(early_client, cfg_.limits.upstream_reply_timeout);
      if (!w.ok()) co_return;
    }
    if (!upstream_leftover_.empty()) {
      auto w = co_await conn_.write_all(upstream_leftover_, cfg_.limits.command_timeout);
      if (!w.ok()) co_return;
    }
    if (stopping_) co_return;
    splice_.emplace(conn_, *upstream_, cfg_.limits.splice_idle_timeout);
    auto r = co_await splice_->run();
    bytes_in_ += r.client_to_upstream + early_client.size();
    bytes_out_ += r.upstream_to_client + upstream_leftover_.size();
    result_ = r.ended_by;
    // Said at a point the relay does not know (it does not parse relayed
    // bytes); the connection closes next, so a torn response does no harm.
    if (r.ended_by == "shutdown") {
      const bool revoked = access_.revoked() != auth::Revocation::none;
      if (revoked) result_ = "revoked";
      const std::string notice = std::string(revoked ? P::revoked_notice : P::shutdown_notice) + "\r\n";
      co_await conn_.write_all(notice, std::chrono::seconds(2));
    }
  }

  // Until the login; then only the splice runs, and an idle spliced session
  // holds no room for the machine either.
  std::unique_ptr<typename P::Server> machine_;
  std::string user_;
  std::optional<auth::Grant> grant_;
  std::optional<MailboxSlots::Slot> slot_;
  std::unique_ptr<Connection> upstream_;
  std::string upstream_leftover_;
  std::optional<Splice> splice_;
  std::vector<char> buf_;  // login phase only: an idle spliced session holds no buffer
  std::uint64_t bytes_in_ = 0;
  std::uint64_t bytes_out_ = 0;
  bool stopping_ = false;
  bool ended_ = false;  // revoked before the splice: the notice was said, the session ends
};

// The session's whole life, in a frame that holds only what it needs; the
// arguments run_imap_session was called with are in the session by now.
template <typename P>
net::awaitable<void> serve(std::unique_ptr<MailboxSession<P>> session, SessionRegistry& registry) {
  const auto ex = co_await net::this_coro::executor;
  auto listed = registry.add(
      ex, [s = session.get()](StopPhase phase) { s->interrupt(phase); },
      [s = session.get()](std::shared_ptr<const ConfigSnapshot> snap) { s->reloaded(std::move(snap)); });
  // A spliced session past its lifetime hears BYE / -ERR, as at a shutdown's cut.
  session->limit_lifetime([s = session.get()] { s->interrupt(StopPhase::cut); });
  co_await session->run();
}

template <typename P>
net::awaitable<void> run(tcp::socket socket, std::shared_ptr<const ConfigSnapshot> snap, std::size_t idx,
                         Services& services, SessionRegistry& registry, ClientOrigin origin) {
  return serve(std::make_unique<MailboxSession<P>>(std::move(socket), std::move(snap), idx, services, std::move(origin)),
               registry);
}

}  // namespace

net::awaitable<void> run_imap_session(tcp::socket socket, std::shared_ptr<const ConfigSnapshot> snap,
                                      std::size_t listener_index, Services& services, SessionRegistry& registry,
                                      ClientOrigin origin) {
  return run<Imap>(std::move(socket), std::move(snap), listener_index, services, registry, std::move(origin));
}

net::awaitable<void> run_pop3_session(tcp::socket socket, std::shared_ptr<const ConfigSnapshot> snap,
                                      std::size_t listener_index, Services& services, SessionRegistry& registry,
                                      ClientOrigin origin) {
  return run<Pop3>(std::move(socket), std::move(snap), listener_index, services, registry, std::move(origin));
}

}  // namespace xr::relay
