#include "relay/smtp_session.hpp"

#include "auth/access_policy.hpp"
#include "auth/login_refusal.hpp"
#include "graph/bcc_prefix.hpp"
#include "graph/graph_client.hpp"
#include "protocols/exchange_diagnosis.hpp"
#include "protocols/header_guard.hpp"
#include "protocols/smtp_path.hpp"
#include "protocols/smtp_server.hpp"
#include "relay/connection.hpp"
#include "relay/graph/graph_transaction.hpp"
#include "relay/session/device_hints.hpp"
#include "relay/session_core.hpp"
#include "relay/session_registry.hpp"
#include "relay/session_support.hpp"
#include "relay/spool/spool_intake.hpp"
#include "relay/token_wait.hpp"
#include "relay/upstream_smtp.hpp"

#include <chrono>
#include <optional>

namespace xr::relay {
namespace {

using Clock = std::chrono::steady_clock;
using conf::LogLevel;

// An idle logged-in session must not keep its mailbox slot: with Exchange's
// per-mailbox cap (3 by default) three idle sessions would block the mailbox
// for everyone. After a transaction (or the AUTH that opened the upstream)
// the slot and the upstream connection are kept this long, so a device that
// sends several messages in a row (a scanner's batch) reuses them; then both
// go, and the next MAIL takes a slot and connects again.
constexpr auto kUpstreamLinger = std::chrono::seconds(10);

// Device reads, held only while reading (read_input). During DATA large
// enough for several TLS records or a large plaintext chunk per read; for
// commands a small one, so many sessions logging in at once stay cheap.
constexpr std::size_t kDataReadSize = 64 * 1024;
constexpr std::size_t kCommandReadSize = 4 * 1024;

// What a session hears when a reload took its access away (after the message
// in progress, if any).
constexpr std::string_view kRevokedReply = "421 4.7.0 Configuration changed, reconnect and log in again";

class SmtpSession : public SessionCore {
 public:
  SmtpSession(tcp::socket socket, std::shared_ptr<const ConfigSnapshot> snap, std::size_t listener_index,
              Services& svc, ClientOrigin origin)
      : SessionCore(std::move(socket), std::move(snap), listener_index, svc, std::move(origin)),
        grant_(auth::match_no_auth(cfg_, client_ip_)),
        machine_(make_options()) {
    if (grant_) tried_ = {"(no_auth)", grant_->mailbox, grant_->tenant};
  }

  // A reload (SessionRegistry): a grant it revoked ends the session after
  // the message in progress, with 421 4.7.0; later logins use the new config.
  void reloaded(std::shared_ptr<const ConfigSnapshot> snap) {
    const auto why = access_.reloaded(std::move(snap), grant_ ? &*grant_ : nullptr, client_ip_, conf::Protocol::smtp);
    if (why == auth::Revocation::none) return;
    report_revocation(svc_, id_, why, *grant_, conf::Protocol::smtp);
    revoke();
  }

  net::awaitable<void> run() {
    opened({{"no_auth", grant_ ? "yes" : "no"}});
    const bool admitted = co_await admit_source(svc_, id_, listener_, client_, client_ip_, conn_, smtp::kTooManyFailedLogins);
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

    machine_.start();
    co_await loop();
    note_device_mistakes();
    note_auth_not_offered();
    if (upstream_) co_await upstream_->quit();
    slot_.reset();
    co_await conn_.close(std::chrono::seconds(5));
    summary();
  }

 private:
  smtp::ServerOptions make_options() const {
    smtp::ServerOptions o;
    o.hostname = cfg_.hostname;
    o.starttls_offered = listener_.tls == conf::TlsMode::starttls;
    o.tls_active = false;  // implicit TLS: set after the handshake, see tls_started below
    o.allow_plaintext_auth = listener_.allow_plaintext_auth;
    o.auth_required = !grant_.has_value();
    o.max_message_size = cfg_.limits.max_message_size;
    o.max_line_length = cfg_.limits.max_line_length;
    if (listener_.tls == conf::TlsMode::implicit) o.tls_active = true;
    return o;
  }

  void summary() {
    const auto to_office365 = upstream_bytes_ + (upstream_ ? upstream_->bytes_sent() : 0);
    svc_.metrics.add("xoauth2_relay_bytes_total", {{"protocol", "smtp"}, {"direction", "device_to_office365"}},
                     double(to_office365));
    log(LogLevel::info, "session_end",
        with_mistake_hint({{"client", client_}, {"listener", listener_.name()}, {"protocol", "smtp"},
                           {"user", tried_.user}, {"mailbox", tried_.mailbox}, {"tenant", tried_.tenant},
                           {"messages", messages_ok_}, {"rejected", messages_failed_}, {"bytes_in", bytes_in_},
                           {"bytes_out", to_office365}, {"result", result_}, {"duration_ms", ms_since(started_)}}));
  }

  // --- device mistakes (logged at warn with the fix) -------------------------

  // AUTH before STARTTLS (or on a listener without TLS and without
  // allow_plaintext_auth): the device hears 538 5.7.11 and most panels say
  // "login failed". Once per session.
  void note_device_mistakes() { note_login_before_tls(machine_.auth_refused_without_tls(), {{"reply", "538 5.7.11"}}); }

  // The device left after an EHLO that offered no AUTH (it needed STARTTLS
  // first, or the listener's allow_plaintext_auth), without trying: a device
  // that never sees AUTH often just gives up, and the log said nothing.
  void note_auth_not_offered() {
    if (interrupted_ || machine_.auth_refused_without_tls() > 0 || result_ != "ok" || !machine_.auth_not_offered()) return;
    device_mistake("auth_not_offered", "auth_not_offered",
                   {{"client", client_}, {"listener", listener_.name()}, {"helo", machine_.helo_name()}},
                   "AUTH is offered here only after STARTTLS: " + login_needs_tls_hint(cfg_, listener_) +
                       "; a device that must send without a login needs a no_auth rule for its address");
  }

  net::awaitable<bool> flush() {
    auto& out = machine_.output();
    if (out.empty()) co_return true;
    const bool sent = co_await send_to_device(out);
    out.clear();
    co_return sent;
  }

  net::awaitable<void> loop() {
    for (;;) {
      switch (machine_.next()) {
        case smtp::EventKind::need_input: {
          {
            const bool ok = co_await flush();
            if (!ok) co_return;
          }
          auto timeout = in_data_ ? cfg_.limits.data_timeout : command_wait(bytes_in_ > 0);
          note_device_mistakes();
          auto r = co_await read_input(timeout);
          if (r.ok()) {
            bytes_in_ += r.bytes;
            const std::string_view got(read_buf_.get(), r.bytes);
            // A TLS ClientHello where plaintext is expected: the client can
            // read no reply (and would wait for one), the session ends.
            const bool tls_client = sniff_first_line(got, machine_.tls_active());
            if (tls_client) co_return;
            machine_.feed(got);
          } else if (r.status == IoStatus::timeout) {
            result_ = "timeout";
            log(LogLevel::info, "timeout", {{"phase", in_data_ ? "data" : "command"},
                                            {"seconds", timeout.count()}});
            machine_.timeout();
          } else if (r.status == IoStatus::interrupted) {
            interrupted_ = true;
            if (lifetime_over()) machine_.shutdown("421 4.4.2 Session lifetime exceeded, reconnect");
            else machine_.shutdown();
          } else {
            if (result_ == "ok" && in_data_) result_ = "client_dropped_mid_message";
            machine_.eof();
          }
          break;
        }
        case smtp::EventKind::start_tls: {
          {
            const bool ok = co_await flush();
            if (!ok) co_return;
          }
          const bool handshaken = co_await handshake_device();
          if (!handshaken) co_return;
          machine_.tls_started();
          transaction_over();  // the machine forgot the transaction (RFC 3207)
          break;
        }
        case smtp::EventKind::authenticate:
          {
            const bool ok = co_await flush();
            if (!ok) co_return;
          }
          co_await authenticate();
          if (auth_blocked_) co_return;
          break;
        case smtp::EventKind::upstream_command: {
          {
            const bool ok = co_await flush();
            if (!ok) co_return;
          }
          in_data_ = false;
          auto reply = co_await forward(machine_.command());
          if (machine_.command().kind == smtp::CommandKind::data && reply.code == 354) {
            in_data_ = true;
            message_started_ = Clock::now();
            message_bytes_ = 0;
            start_header_guard();
          }
          machine_.complete_command(reply);
          break;
        }
        case smtp::EventKind::message_data: {
          auto data = machine_.data();
          message_bytes_ += data.size();
          if (guard_ && !guard_->passing()) {  // once past the headers the body goes on as is
            if (guard_->refused()) break;  // the rest of a refused message goes nowhere
            rewritten_.clear();
            guard_->feed(data, rewritten_);
            data = rewritten_;
            if (guard_->refused()) {
              drop_refused_message();
              break;
            }
          }
          if (spool_txn_) spool_->write(data);
          else if (graph_txn_) graph_->write(data);
          else co_await send_message_data(data);
          break;
        }
        case smtp::EventKind::message_end: {
          {
            const bool ok = co_await flush();
            if (!ok) co_return;
          }
          in_data_ = false;
          machine_.complete_command(co_await finish_message());
          transaction_over();
          break;
        }
        case smtp::EventKind::message_abort:
          in_data_ = false;
          transaction_over();
          ++messages_failed_;
          // A DATA stream cannot be cancelled in SMTP: dropping the upstream
          // connection is the only way to make sure the message is not sent.
          if (spool_txn_) spool_->reset();
          else if (graph_txn_) end_graph_txn();
          else if (upstream_) upstream_->abandon();
          guard_.reset();
          log(LogLevel::warn, "message_aborted",
              {{"reason", machine_.message_bare_cr() ? "bare_cr" : result_ == "ok" ? "size_limit" : result_},
               {"bytes", message_bytes_},
               {"limit", cfg_.limits.max_message_size}});
          break;
        case smtp::EventKind::close:
          co_await flush();
          co_return;
      }
    }
  }

  // --- login ---------------------------------------------------------------

  net::awaitable<void> authenticate() {
    std::string user = machine_.auth_user();
    std::string password = machine_.auth_password();
    std::string mech = machine_.auth_mechanism();
    auto checked_at = Clock::now();
    // A reload since this connection was accepted applies to its login: the
    // newest config decides (password, sources, tenant).
    const auto login_snap = access_.latest();
    auto checked =
        co_await check_login_throttled(svc_, login_snap->config, user, password, client_ip_, conf::Protocol::smtp);
    if (!checked.blocked.ok()) {
      // Refused before any password check; the session ends.
      co_await refuse_blocked_login(conf::Protocol::smtp, user, checked.blocked, smtp::kTooManyFailedLogins);
      co_return;
    }
    auto& decision = checked.decision;
    svc_.metrics.add("xoauth2_relay_logins_total", {{"protocol", "smtp"}, {"outcome", login_metric_outcome(decision)}});
    if (!decision.grant) {
      log(LogLevel::warn, "auth_failed",
          {{"client", client_}, {"user", user}, {"mechanism", mech},
           {"reason", auth::to_string(decision.failure)}});
      co_await failed_login_pause();
      login_outcome("auth_failed");
      machine_.complete_auth(smtp::AuthOutcome::bad_credentials);
      co_return;
    }
    log(LogLevel::info, "auth_ok", {{"user", user}, {"mechanism", mech}, {"mailbox", decision.grant->mailbox},
                                    {"tenant", decision.grant->tenant}, {"cached", decision.cached ? "yes" : "no"},
                                    {"check_ms", ms_since(checked_at)}});
    // AUTH again (after no_auth, or after a login before STARTTLS): the old
    // grant's upstream and slot go first, so the new mailbox's cap applies.
    co_await release_upstream();
    grant_ = std::move(decision.grant);
    tried_ = {user, grant_->mailbox, grant_->tenant};
    const auto why = access_.granted(login_snap, *grant_, client_ip_, conf::Protocol::smtp);
    if (why != auth::Revocation::none) report_revocation(svc_, id_, why, *grant_, conf::Protocol::smtp);
    if (access_.revoked() != auth::Revocation::none) {
      // A reload during the check (reported just above) or before it (the
      // session is ending) took the grant away.
      grant_.reset();
      login_outcome("revoked");
      machine_.complete_auth(smtp::AuthOutcome::temporary, "4.7.0 Configuration changed, try again later");
      revoke();
      co_return;
    }
    if (graph_direct()) {
      // No upstream login to try: the Graph token stands in for it, so a
      // tenant without one hears 454 at AUTH, as with SMTP upstream.
      const bool have_token = co_await graph_token_ready();
      if (!have_token) {
        login_outcome("upstream_unavailable");
        machine_.complete_auth(smtp::AuthOutcome::temporary);
        grant_.reset();
        co_return;
      }
    }
    if (spooling() || graph_direct()) {
      // Store and forward: Office 365 is the delivery engine's business.
      // Graph: no SMTP upstream at all; each message is one sendMail.
      login_outcome("ok");
      machine_.complete_auth(smtp::AuthOutcome::ok);
      co_return;
    }

    auto opened = co_await open_upstream();
    if (opened) {
      // Our own login is fine, but the session cannot be relayed.
      const bool refused = opened->klass() == 5;
      login_outcome(refused ? "upstream_refused" : "upstream_unavailable");
      if (refused) machine_.complete_auth(smtp::AuthOutcome::upstream_refused);
      else machine_.complete_auth(smtp::AuthOutcome::temporary, opened->lines.at(0));
      grant_.reset();
      co_return;
    }
    login_outcome("ok");
    transaction_over();  // the linger starts: an idle session lets the upstream go
    machine_.complete_auth(smtp::AuthOutcome::ok);
  }

  // --- idle sessions and reloads --------------------------------------------

  void revoke() {
    result_ = "revoked";
    machine_.shutdown(kRevokedReply);
    conn_.interrupt();  // wakes a session waiting for its next command
  }

  // No transaction open: the upstream and slot are kept for the linger only.
  void transaction_over() {
    txn_open_ = false;
    linger_until_ = Clock::now() + kUpstreamLinger;
    std::string().swap(rewritten_);  // up to a read's worth of headers: not kept while idle
  }

  // Lets the upstream connection (QUIT) and the mailbox slot go.
  net::awaitable<void> release_upstream() {
    if (upstream_) {
      co_await upstream_->quit();
      upstream_bytes_ += upstream_->bytes_sent();
      upstream_.reset();
    }
    slot_.reset();
  }

  // The device's next bytes within `timeout`. While no transaction is open,
  // the upstream and slot are let go when the linger is over; the wait for
  // the device goes on to the same deadline.
  net::awaitable<IoResult> read_input(std::chrono::steady_clock::duration timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      const bool lingering = !in_data_ && !txn_open_ && (upstream_ || slot_);
      auto wait = deadline - Clock::now();
      if (lingering) {
        if (Clock::now() >= linger_until_) {
          log(LogLevel::debug, "upstream_released", {{"reason", "idle"}});
          co_await release_upstream();
          continue;
        }
        wait = std::min(wait, linger_until_ - Clock::now());
      }
      if (!in_data_) {
        // Between commands a session waits without a read buffer: most
        // logged-in sessions are idle most of the time. During DATA it keeps
        // one, so a message streams without an allocation per read.
        read_buf_.reset();
        auto w = conn_.readable_now();
        if (!w) {
          const auto waited = co_await conn_.readable_wait(wait);
          w = conn_.readable_result(waited);
        }
        if (w->status == IoStatus::timeout && lingering && Clock::now() < deadline) continue;
        if (!w->ok()) co_return *w;
      }
      const std::size_t size = in_data_ ? kDataReadSize : kCommandReadSize;
      if (!read_buf_ || read_buf_size_ != size) {
        read_buf_ = std::make_unique_for_overwrite<char[]>(size);
        read_buf_size_ = size;
      }
      auto r = co_await conn_.read_some(net::buffer(read_buf_.get(), size), wait);
      if (r.status == IoStatus::timeout && lingering && Clock::now() < deadline) continue;
      co_return r;
    }
  }

  // --- upstream ------------------------------------------------------------

  // Outside open_upstream's coroutine frame: its Field temporaries would
  // grow the frame, which GCC 12 then mis-sizes (-Wmismatched-new-delete).
  void log_upstream_failed(const UpstreamLogin& login) {
    const auto& tenant = access_.grant_snap()->config.tenants.at(grant_->tenant);
    auto explanation = auth::explain_smtp_login_reply(tenant, login.reply);  // Exchange's or Google's set-up
    log(login.status == UpstreamLogin::Status::refused ? LogLevel::error : LogLevel::warn, "upstream_failed",
        {{"upstream", upstream_->peer()}, {"mailbox", grant_->mailbox}, {"tenant", grant_->tenant},
         {"status", to_string(login.status)}, {"hop", to_string(login.hop)}, {"proxy", upstream_->proxy_url()},
         {"reply", login.said()}, {"detail", login.detail},
         {"likely_cause", explanation.empty() ? "-" : explanation}});
  }

  // The token for this grant's mailbox (auth::token_key), in a frame of its
  // own: the same co_await inside open_upstream() makes GCC 12 mis-size that
  // frame (-Wmismatched-new-delete).
  net::awaitable<auth::TokenResult> smtp_token(const conf::Tenant& tenant) {
    co_return co_await wait_for_token(svc_.tokens, tenant, conf::Protocol::smtp, grant_->mailbox,
                                      cfg_.limits.token_timeout);
  }

  // Connects and logs in to the grant's tenant. nullopt on success, else the
  // reply to give the device (4xx: try again later; 5xx: refused).
  net::awaitable<std::optional<smtp::Reply>> open_upstream() {
    // The grant's snapshot: the tenant's endpoint and TLS context go with
    // the token (a login after a reload has the new one, not the session's).
    const auto gsnap = access_.grant_snap();
    const auto& tenant = gsnap->config.tenants.at(grant_->tenant);
    auto t0 = Clock::now();
    if (!slot_) {
      slot_ = co_await svc_.mailbox_slots.acquire(MailboxSlots::key(grant_->tenant, "smtp", grant_->mailbox),
                                                  tenant.smtp.max_connections_per_mailbox,
                                                  cfg_.limits.mailbox_wait_timeout);
      if (!slot_) {
        log(LogLevel::warn, "mailbox_busy",
            {{"mailbox", grant_->mailbox}, {"max_connections", tenant.smtp.max_connections_per_mailbox},
             {"waited_ms", ms_since(t0)},
             {"hint", "raise tenants." + grant_->tenant + ".smtp.max_connections_per_mailbox only if Exchange allows it"}});
        co_return smtp::make_reply(454, "4.7.0 Too many connections to this mailbox, try again later");
      }
      if (ms_since(t0) > 1000) log(LogLevel::info, "mailbox_slot", {{"waited_ms", ms_since(t0)}});
    }
    auto token = co_await smtp_token(tenant);
    if (!token.ok) {
      log(LogLevel::error, "token_unavailable",
          {{"tenant", grant_->tenant}, {"error", token.error.summary}, {"fix", token.error.fix}});
      co_return smtp::make_reply(454, "4.7.0 Temporary authentication failure, try again later");
    }
    if (access_.revoked() != auth::Revocation::none) {
      // A reload revoked the grant while we waited: its token may be the
      // new config's, which must not go to this snapshot's endpoint.
      slot_.reset();
      co_return smtp::make_reply(454, "4.7.0 Configuration changed, try again later");
    }
    auto settings = UpstreamSmtp::Settings::for_mailbox(cfg_, tenant, grant_->mailbox);
    upstream_ = std::make_unique<UpstreamSmtp>(co_await net::this_coro::executor,
                                               *gsnap->upstream_tls.at(grant_->tenant), std::move(settings));
    auto login = co_await upstream_->open(std::string(token.token.value.reveal()));
    svc_.metrics.add("xoauth2_relay_upstream_logins_total", {{"protocol", "smtp"}, {"outcome", metric_outcome(login)}});
    if (login.status == UpstreamLogin::Status::ok) {
      log(LogLevel::info, "upstream_ok", {{"upstream", upstream_->peer()}, {"mailbox", grant_->mailbox},
                                          {"proxy", upstream_->proxy_url()},
                                          {"tls_resumed", upstream_->tls_resumed() ? "yes" : "no"},
                                          {"ms", ms_since(t0)}});
      co_return std::nullopt;
    }
    upstream_bytes_ += upstream_->bytes_sent();
    log_upstream_failed(login);
    upstream_.reset();
    slot_.reset();
    if (login.status == UpstreamLogin::Status::refused)
      co_return smtp::make_reply(535, "5.7.3 Authentication unsuccessful");
    co_return smtp::make_reply(454, "4.7.0 Temporary authentication failure, try again later");
  }

  // The message's Message-ID for the log ("-" when it has none).
  std::string logged_message_id() const { return message_id_.empty() ? "-" : message_id_; }

  static smtp::Reply lost_reply() {
    return smtp::make_reply(451, "4.4.2 Connection to Office 365 lost, try again later");
  }

  net::awaitable<smtp::Reply> forward(const smtp::Command& cmd) {
    using K = smtp::CommandKind;
    std::string line = cmd.line;
    std::string from = cmd.address;
    if (cmd.kind == K::mail) {
      if (!grant_) co_return smtp::make_reply(530, "5.7.0 Authentication required");
      if (!auth::sender_allowed(grant_->senders, cmd.address)) {
        if (!grant_->rewrite_sender.envelope) {
          log(LogLevel::warn, "sender_denied",
              {{"from", cmd.address}, {"user", grant_->user}, {"mailbox", grant_->mailbox},
               {"hint", "add the address to the user's senders, or set rewrite_sender: true"}});
          co_return smtp::make_reply(550, "5.7.1 Sender address not allowed for this login");
        }
        line = smtp::mail_from_line(grant_->mailbox, cmd.params);
        from = grant_->mailbox;
        log(LogLevel::info, "sender_rewritten", {{"from", cmd.address.empty() ? "<>" : cmd.address},
                                                 {"to", grant_->mailbox}});
      }
      spool_txn_ = spooling();
      if (spool_txn_) co_return spool_mail(from, cmd);
      graph_txn_ = graph_direct();
      if (graph_txn_) co_return graph_mail(from, cmd);
    }
    if (spool_txn_) co_return spool_command(cmd);
    if (graph_txn_) co_return graph_command(cmd);
    if (cmd.kind == K::mail) {
      if (!upstream_ || !upstream_->alive()) {
        if (upstream_) upstream_bytes_ += upstream_->bytes_sent();
        upstream_.reset();
        auto refused = co_await open_upstream();
        if (refused) {
          // The device sees a temporary failure at MAIL for any upstream
          // login problem: it will retry, and the log says why.
          co_return smtp::make_reply(451, refused->code == 454 ? refused->lines.at(0)
                                                              : "4.7.0 Office 365 login failed, try again later");
        }
      }
    }
    if (cmd.kind == K::rset) transaction_over();
    if (cmd.kind == K::rset && (!upstream_ || !upstream_->alive()))
      co_return smtp::make_reply(250, "2.0.0 OK");
    if (!upstream_ || !upstream_->alive()) co_return lost_reply();

    auto reply = co_await upstream_->command(line);
    if (!reply) {
      log(LogLevel::warn, "upstream_lost", {{"command", cmd.kind == K::mail   ? "MAIL"
                                                        : cmd.kind == K::rcpt ? "RCPT"
                                                        : cmd.kind == K::data ? "DATA"
                                                                              : "RSET"},
                                            {"error", upstream_->error()}});
      co_return lost_reply();
    }
    count_reply(*reply);
    if (cmd.kind == K::mail) {
      if (reply->klass() == 2) {
        txn_open_ = true;  // the slot is held until the message is over
        envelope_from_ = from.empty() ? "<>" : from;
        envelope_rcpts_ = 0;
      } else {
        transaction_over();
      }
      log(reply->klass() == 2 ? LogLevel::debug : LogLevel::warn, "mail_from",
          {{"from", cmd.address}, {"reply", reply->summary()}});
      if (reply->klass() != 2) log_explained(*reply);
    } else if (cmd.kind == K::rcpt) {
      if (reply->klass() == 2) ++envelope_rcpts_;
      log(reply->klass() == 2 ? LogLevel::debug : LogLevel::warn, "rcpt_to",
          {{"to", cmd.address}, {"reply", reply->summary()}});
    }
    co_return *reply;
  }

  void count_reply(const smtp::Reply& reply) {
    svc_.metrics.add("xoauth2_relay_upstream_replies_total", {{"class", std::to_string(reply.klass()) + "xx"}});
  }

  void count_message(const char* outcome) {
    svc_.metrics.add("xoauth2_relay_messages_total", {{"outcome", outcome}});
  }

  void log_explained(const smtp::Reply& reply) {
    auto why = smtp::explain_exchange_reply(reply);
    if (!why.empty()) log(LogLevel::warn, "upstream_hint", {{"reply", reply.summary()}, {"likely_cause", why}});
  }

  // The grant's senders govern the From: header too (with
  // rewrite_sender.from_header, a foreign one is rewritten instead).
  void start_header_guard() {
    guard_.reset();
    message_id_.clear();
    if (!grant_) return;
    smtp::HeaderGuardOptions o;
    o.max_header_size = cfg_.limits.max_header_size;
    o.allowed = [senders = grant_->senders](std::string_view a) { return auth::sender_allowed(senders, a); };
    o.rewrite = grant_->rewrite_sender.from_header;
    o.mailbox = grant_->mailbox;
    o.keep_reply_to = grant_->rewrite_sender.reply_to;
    guard_ = std::make_unique<smtp::HeaderGuard>(std::move(o));
  }

  // The header guard said no: nothing of the message may be delivered. The
  // upstream DATA is never completed (dropping the connection is the only
  // way, as for message_abort); a spooled message is never committed. The
  // device hears the refusal at the end of its DATA.
  void drop_refused_message() {
    if (spool_txn_) spool_->reset();
    else if (graph_txn_) end_graph_txn();
    else if (upstream_) upstream_->abandon();
    log(LogLevel::warn, "message_refused",
        {{"reason", guard_->reason()}, {"from", guard_->from().empty() ? "-" : guard_->from()},
         {"message_id", guard_->message_id().empty() ? "-" : guard_->message_id()},
         {"user", tried_.user}, {"mailbox", tried_.mailbox}, {"reply", guard_->reply().summary()},
         {"hint", refusal_hint(guard_->reason())}});
  }

  static std::string_view refusal_hint(std::string_view reason) {
    if (reason == "sender_not_allowed")
      return "add the address to the user's senders, or set rewrite_sender: {from_header: true}";
    if (reason == "header_too_large") return "the header block is over limits.max_header_size";
    if (reason == "malformed_header") return "a line of the header block is not a header field";
    return "the message must carry one From: header with one address the login may send as";
  }

  smtp::Reply refused_message_reply() {
    auto reply = guard_->reply();
    guard_.reset();
    spool_txn_ = false;
    graph_txn_ = false;
    ++messages_failed_;
    count_message("rejected");
    return reply;
  }

  net::awaitable<void> send_message_data(std::string_view data) {
    if (data.empty() || !upstream_ || !upstream_->alive()) co_return;
    const bool sent = co_await upstream_->message_data(data);
    if (!sent) log(LogLevel::warn, "upstream_lost", {{"phase", "data"}, {"error", upstream_->error()}});
  }

  net::awaitable<smtp::Reply> finish_message() {
    if (guard_) {
      if (guard_->refused()) co_return refused_message_reply();
      rewritten_.clear();
      guard_->finish(rewritten_);
      if (guard_->refused()) {
        drop_refused_message();
        co_return refused_message_reply();
      }
      if (spool_txn_) spool_->write(rewritten_);
      else if (graph_txn_) graph_->write(rewritten_);
      else co_await send_message_data(rewritten_);
      message_id_ = guard_->message_id();
      if (!guard_->replaced().empty())
        log(LogLevel::info, "from_header_rewritten",
            {{"from", guard_->replaced()}, {"to", grant_->mailbox},
             {"reply_to_added", guard_->reply_to_added() ? "yes" : "no"}});
      guard_.reset();
      std::string().swap(rewritten_);
    }
    const auto bare_lf = machine_.message_bare_lf();
    if (spool_txn_) co_return co_await spool_finish(bare_lf);
    if (graph_txn_) co_return co_await graph_finish(bare_lf);
    std::optional<smtp::Reply> reply;
    if (upstream_ && upstream_->alive()) reply = co_await upstream_->message_end();
    if (!reply) {
      ++messages_failed_;
      count_message("failed");
      log(LogLevel::warn, "message_failed",
          {{"from", envelope_from_}, {"rcpts", envelope_rcpts_}, {"message_id", logged_message_id()},
           {"bytes", message_bytes_}, {"bare_lf", bare_lf}, {"error", upstream_ ? upstream_->error() : "no upstream"},
           {"reply", "451 4.4.2"}});
      // Never 250 for a message Office 365 did not confirm.
      co_return lost_reply();
    }
    count_reply(*reply);
    if (reply->klass() == 2) ++messages_ok_;
    else ++messages_failed_;
    count_message(reply->klass() == 2 ? "accepted" : "rejected");
    // from, rcpts and message_id find the mail in Exchange's message trace.
    log(reply->klass() == 2 ? LogLevel::info : LogLevel::warn, "message",
        {{"mailbox", grant_ ? grant_->mailbox : "-"}, {"from", envelope_from_}, {"rcpts", envelope_rcpts_},
         {"message_id", logged_message_id()}, {"size", message_bytes_}, {"bytes", message_bytes_},
         {"bare_lf", bare_lf}, {"reply", reply->summary()}, {"ms", ms_since(message_started_)}});
    if (reply->klass() != 2) log_explained(*reply);
    co_return *reply;
  }

  // --- Microsoft Graph (smtp: {via: graph}, delivery: direct) -----------------

  bool graph_direct() const {
    if (!grant_ || spooling()) return false;
    const auto gsnap = access_.grant_snap();
    auto it = gsnap->config.tenants.find(grant_->tenant);
    return it != gsnap->config.tenants.end() && GraphTransaction::applies(it->second);
  }

  smtp::Reply graph_mail(const std::string& from, const smtp::Command& cmd) {
    if (!graph_) graph_ = std::make_unique<GraphTransaction>(svc_, id_);
    auto reply = graph_->mail(access_.grant_snap(), grant_->tenant, grant_->mailbox, from, cmd.params);
    if (reply.klass() == 2) {
      envelope_from_ = from.empty() ? "<>" : from;
      envelope_rcpts_ = 0;
    } else {
      graph_txn_ = false;
      ++messages_failed_;
    }
    return reply;
  }

  smtp::Reply graph_command(const smtp::Command& cmd) {
    switch (cmd.kind) {
      case smtp::CommandKind::rcpt: ++envelope_rcpts_; return graph_->rcpt(cmd.address);
      case smtp::CommandKind::data: return graph_->data();
      case smtp::CommandKind::rset: end_graph_txn(); return smtp::make_reply(250, "2.0.0 OK");
      default: return smtp::make_reply(250, "2.0.0 OK");
    }
  }

  // Whether the tenant's Graph token can be had now (logged when not).
  net::awaitable<bool> graph_token_ready() {
    const auto gsnap = access_.grant_snap();
    const auto& tenant = gsnap->config.tenants.at(grant_->tenant);
    auto token = co_await wait_for_token(svc_.tokens, tenant, conf::Protocol::smtp, grant_->mailbox,
                                         cfg_.limits.token_timeout);
    if (!token.ok) log_graph_token_unavailable(token.error.summary, token.error.fix);
    co_return token.ok;
  }

  // Outside the coroutine (GCC 12 frames: no Field list in it).
  void log_graph_token_unavailable(const std::string& error, const std::string& fix) {
    log(LogLevel::error, "token_unavailable", {{"tenant", grant_->tenant}, {"for", "graph"}, {"error", error}, {"fix", fix}});
  }

  void end_graph_txn() {
    if (graph_) graph_->reset();
    graph_txn_ = false;
  }

  net::awaitable<smtp::Reply> graph_finish(std::size_t bare_lf) {
    graph_txn_ = false;
    const std::string message_id = message_id_;
    auto reply = co_await graph_->finish(message_id, bare_lf);
    if (graph_->ok()) ++messages_ok_;
    else ++messages_failed_;
    co_return reply;
  }

  // --- store and forward (delivery: spool) ----------------------------------

  bool spooling() const { return grant_ && grant_->delivery == conf::Delivery::spool; }

  smtp::Reply spool_mail(const std::string& from, const smtp::Command& cmd) {
    auto* engine = svc_.spool.load();
    if (!engine) {
      // Only after a reload that configured a spool the relay could not open
      // (logged as spool_failed): never fall back to direct silently.
      spool_txn_ = false;
      log(LogLevel::error, "spool_unavailable", {{"mailbox", grant_->mailbox}, {"fix", "see the spool_failed log line"}});
      return smtp::make_reply(451, "4.3.0 Cannot queue the message now, try again later");
    }
    if (!spool_) spool_ = std::make_unique<SpoolIntake>(*engine);
    spool_->set_origin(id_, client_, grant_->user, grant_->tenant, grant_->mailbox);
    // Never queue what Graph cannot take (its delivery could only bounce).
    if (const auto limit = spool_graph_limit(); limit && spooled_size_param(cmd.params) > *limit) {
      spool_txn_ = false;
      log(LogLevel::warn, "message_refused", {{"reason", "too_large_for_graph"}, {"mailbox", grant_->mailbox},
                                              {"limit", *limit}, {"reply", "552 5.3.4"}, {"for", "spool"}});
      return GraphTransaction::too_large_reply(*limit);
    }
    auto reply = spool_->mail(from, cmd.address, cmd.params);
    if (reply.code != 250) {
      spool_txn_ = false;
      svc_.metrics.add("xoauth2_relay_spool_accepted_total", {{"outcome", "refused"}});
      log(LogLevel::warn, "spool_refused", {{"reason", spool_->last_error()}, {"mailbox", grant_->mailbox},
                                            {"reply", reply.summary()}});
    }
    return reply;
  }

  smtp::Reply spool_command(const smtp::Command& cmd) {
    switch (cmd.kind) {
      case smtp::CommandKind::rcpt: return spool_->rcpt(cmd.address, cmd.params);
      case smtp::CommandKind::data: {
        auto reply = spool_->data();
        if (reply.code != 354)
          log(LogLevel::error, "spool_error", {{"error", spool_->last_error()}, {"reply", reply.summary()}});
        return reply;
      }
      case smtp::CommandKind::rset:
        spool_->reset();
        spool_txn_ = false;
        return smtp::make_reply(250, "2.0.0 OK");
      default: return smtp::make_reply(250, "2.0.0 OK");
    }
  }

  // A spooled message for a Graph tenant: graph::max_raw_message, less room
  // for the Bcc: line delivery may add; nullopt for other tenants.
  std::optional<std::uint64_t> spool_graph_limit() const {
    const auto gsnap = access_.grant_snap();
    auto it = gsnap->config.tenants.find(grant_->tenant);
    if (it == gsnap->config.tenants.end() || !GraphTransaction::applies(it->second)) return std::nullopt;
    return graph::max_raw_message(it->second.graph);
  }

  static std::uint64_t spooled_size_param(std::string_view params) { return announced_size(params); }

  std::uint64_t spooled_bcc_room() const {
    std::vector<std::string> rcpts;
    for (const auto& r : spool_->envelope().rcpts) rcpts.push_back(r.address);
    return graph::bcc_room(rcpts);
  }

  net::awaitable<smtp::Reply> spool_finish(std::size_t bare_lf) {
    if (const auto limit = spool_graph_limit();
        limit && spool_->message_size() + spooled_bcc_room() > *limit) {
      spool_->reset();
      spool_txn_ = false;
      ++messages_failed_;
      count_message("rejected");
      log(LogLevel::warn, "message_refused", {{"reason", "too_large_for_graph"}, {"mailbox", grant_->mailbox},
                                              {"size", spool_->message_size()}, {"limit", *limit},
                                              {"reply", "552 5.3.4"}, {"for", "spool"}});
      co_return GraphTransaction::too_large_reply(*limit);
    }
    auto reply = co_await spool_->finish(svc_.blocking);
    spool_txn_ = false;
    const auto& env = spool_->envelope();
    if (reply.code == 250) {
      ++messages_ok_;
      count_message("queued");
      svc_.metrics.add("xoauth2_relay_spool_accepted_total", {{"outcome", "queued"}});
      log(LogLevel::info, "queued", {{"id", spool_->last_id()}, {"mailbox", env.mailbox},
                                     {"from", env.mail_from.empty() ? "<>" : env.mail_from},
                                     {"rcpts", env.rcpts.size()}, {"message_id", logged_message_id()},
                                     {"size", spool_->message_size()},
                                     {"bare_lf", bare_lf}, {"ms", ms_since(message_started_)}});
    } else {
      ++messages_failed_;
      count_message("failed");
      svc_.metrics.add("xoauth2_relay_spool_accepted_total", {{"outcome", "refused"}});
      log(reply.code == 452 ? LogLevel::warn : LogLevel::error, reply.code == 452 ? "spool_refused" : "spool_error",
          {{"reason", spool_->last_error()}, {"mailbox", env.mailbox}, {"size", spool_->message_size()},
           {"reply", reply.summary()}});
    }
    co_return reply;
  }

  std::optional<auth::Grant> grant_;  // set by a no_auth rule or a login
  smtp::Server machine_;
  std::unique_ptr<UpstreamSmtp> upstream_;
  // Held only where they are used (a message, a spooled session), out of
  // the object every idle session keeps: together they are 0.8 KiB.
  std::unique_ptr<smtp::HeaderGuard> guard_;  // during a message: From: against senders, header cap
  std::string rewritten_;
  std::optional<MailboxSlots::Slot> slot_;  // held while upstream_ may be connected
  bool txn_open_ = false;                   // a MAIL was accepted upstream and the message is not over
  Clock::time_point linger_until_{};        // without a transaction: when upstream_ and slot_ go
  std::unique_ptr<SpoolIntake> spool_;  // created at the first spooled MAIL
  bool spool_txn_ = false;            // this transaction goes to the spool
  std::unique_ptr<GraphTransaction> graph_;  // created at the first Graph MAIL (relay/graph/)
  bool graph_txn_ = false;                   // this transaction goes to Microsoft Graph
  std::unique_ptr<char[]> read_buf_;  // only while reading (read_input)
  std::size_t read_buf_size_ = 0;
  bool in_data_ = false;
  Clock::time_point message_started_ = Clock::now();
  std::uint64_t message_bytes_ = 0;
  std::uint64_t bytes_in_ = 0;
  std::uint64_t upstream_bytes_ = 0;
  std::uint64_t messages_ok_ = 0;
  std::uint64_t messages_failed_ = 0;
  std::string envelope_from_ = "-";  // the accepted MAIL FROM ("<>" for the null sender), for event=message
  std::size_t envelope_rcpts_ = 0;    // RCPTs Office 365 accepted in this transaction
  std::string message_id_;            // the header guard's, kept past its reset
  bool interrupted_ = false;  // a shutdown, reload or the lifetime ended the session, not the device
};

// The session's whole life, in a frame that holds only what it needs; the
// arguments run_smtp_session was called with are in the session by now.
net::awaitable<void> serve(std::unique_ptr<SmtpSession> session, SessionRegistry& registry) {
  const auto ex = co_await net::this_coro::executor;
  auto listed = registry.add(
      ex, [s = session.get()](StopPhase) { s->connection().interrupt(); },
      [s = session.get()](std::shared_ptr<const ConfigSnapshot> snap) { s->reloaded(std::move(snap)); });
  session->limit_lifetime([s = session.get()] { s->connection().interrupt(); });
  co_await session->run();
}

}  // namespace

net::awaitable<void> run_smtp_session(tcp::socket socket, std::shared_ptr<const ConfigSnapshot> snap,
                                      std::size_t listener_index, Services& services,
                                      SessionRegistry& registry, ClientOrigin origin) {
  return serve(std::make_unique<SmtpSession>(std::move(socket), std::move(snap), listener_index, services,
                                             std::move(origin)),
               registry);
}

}  // namespace xr::relay
