#include "relay/doctor.hpp"

#include "auth/aadsts.hpp"
#include "auth/credential_expiry.hpp"
#include "auth/http_client.hpp"
#include "auth/token_claims.hpp"
#include "auth/token_request.hpp"
#include "protocols/imap_client.hpp"
#include "protocols/pop3_client.hpp"
#include "relay/asio.hpp"
#include "relay/doctor/google_checks.hpp"
#include "relay/doctor/graph_checks.hpp"
#include "relay/doctor_plan.hpp"
#include "relay/doctor_report.hpp"
#include "relay/tls.hpp"
#include "relay/net/upstream_connect.hpp"
#include "relay/upstream_login.hpp"
#include "relay/upstream_smtp.hpp"

#include <fmt/format.h>

#include <array>
#include <map>
#include <type_traits>

namespace xr::relay {
namespace {

using SysClock = std::chrono::system_clock;

// The token row's text and fix: the secret's file, client ID and tenant for
// Entra's errors, the URL tried for a 404, ca_file for a certificate that did
// not verify.
std::pair<std::string, std::string> explain_token_error(const conf::Tenant& t, const auth::TokenError& e,
                                                        const std::string& url) {
  std::string summary = e.summary, fix = e.fix;
  if (e.http_status == 0 && is_certificate_failure(e.summary)) {
    fix = fix_tls_verification(t, "the token endpoint " + authority_origin(url));
  } else if (e.http_status == 404) {
    summary += " (URL tried: " + url + ")";
    fix = fix_token_not_found(t);
  } else {
    for (long code : e.aadsts_codes) {
      auto tenant_fix = auth::aadsts_tenant_fix(code, t);
      if (!tenant_fix.empty()) {
        fix = std::move(tenant_fix);
        break;
      }
    }
  }
  return {summary, fix};
}

struct TenantState {
  bool token_ok = false;
  conf::Secret token;
  std::optional<auth::TokenClaims> claims;
};

class Doctor {
 public:
  Doctor(const conf::Config& cfg, const DoctorOptions& o) : cfg_(cfg), plan_(plan_doctor(cfg, o.tenant, o.mailbox)) {}

  std::vector<DoctorRow> run() {
    for (const auto& name : plan_.tenants) {
      check_tenant(name);
      graph_.check_tenant(name);  // smtp: {via: graph} tenants only
    }
    for (const auto& m : plan_.mailboxes) {
      for (auto p : m.protocols) {
        if (p == conf::Protocol::smtp && sends_via_graph(cfg_.tenants.at(m.tenant))) {
          graph_.check_mailbox(m);  // no SMTP login: the tenant's SMTP AUTH may well be off
          continue;
        }
        const auto& state = state_for(m);  // a Google tenant's token is per mailbox
        DoctorRow row{m.tenant, m.mailbox, conf::to_string(p), "login", false, "", ""};
        if (!state.token_ok) {
          row.result = is_google(cfg_.tenants.at(m.tenant)) ? "not tried: no token for this mailbox"
                                                             : "not tried: no token for this tenant";
          rows_.push_back(row);
          continue;
        }
        net::io_context io;
        net::co_spawn(io, check_mailbox(m, p, state), net::detached);
        io.run();
      }
    }
    return rows_;
  }

  bool plan_empty() const { return plan_.tenants.empty(); }
  const DoctorPlan& plan() const { return plan_; }

 private:
  // The tenant's token; for a Google tenant this mailbox's, fetched at its
  // first protocol (a "token" row per mailbox: relay/doctor/google_checks).
  const TenantState& state_for(const DoctorMailbox& m) {
    if (!is_google(cfg_.tenants.at(m.tenant))) return tenants_[m.tenant];
    auto [it, fresh] = google_states_.try_emplace(m.tenant + "/" + m.mailbox);
    if (fresh)
      if (auto token = google_.mailbox_token(m)) {
        it->second.token_ok = true;
        it->second.token = std::move(*token);
      }
    return it->second;
  }

  void check_tenant(const std::string& name) {
    const auto& t = cfg_.tenants.at(name);
    if (is_google(t)) return google_.check_tenant(name);  // no tenant-wide token: per mailbox
    auto& state = tenants_[name];
    // The credential first: an expired one explains a failing token request.
    try {
      if (auto e = auth::credential_expiry(t)) {
        const auto now = SysClock::now();
        const auto days = std::chrono::floor<std::chrono::days>(e->at - now).count();
        auto st = auth::expiry_state(e->at, now);
        const std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(e->at)};
        const std::string when = fmt::format("{:04}-{:02}-{:02}", int(ymd.year()), unsigned(ymd.month()),
                                             unsigned(ymd.day()));
        rows_.push_back({name, "-", "-", "credential", st != auth::ExpiryState::expired,
                         st == auth::ExpiryState::expired ? e->credential + " expired on " + when
                         : st == auth::ExpiryState::soon
                             ? fmt::format("ok, but the {} expires on {} ({} days): renew it now", e->credential, when, days)
                             : fmt::format("ok, {} expires on {} ({} days)", e->credential, when, days),
                         st == auth::ExpiryState::expired ? auth::expiry_fix(t) : ""});
      }
    } catch (const std::exception& ex) {
      rows_.push_back({name, "-", "-", "credential", false, ex.what(),
                       t.certificate ? "check tenants." + name + ".certificate: cert_file " + t.certificate->cert_file +
                                           " and key_file " + t.certificate->key_file
                                     : "check tenants." + name + "'s credential"});
    }

    auth::HttpRequest req;
    auth::TokenError err;
    if (!auth::build_token_request(t, auth::Clock::now(), req, err)) {
      rows_.push_back({name, "-", "-", "token", false, err.summary, err.fix});
      return;
    }
    req.connect_timeout = std::chrono::milliseconds(10000);
    req.total_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.limits.token_timeout);
    auto http = auth::make_curl_http_client();
    auto resp = http->post_form(req);
    auto r = auth::consume_token_response(resp, auth::Clock::now());  // wipes the body, which holds the token
    if (!r.ok) {
      auto [summary, fix] = explain_token_error(t, r.error, req.url);
      rows_.push_back({name, "-", "-", "token", false, summary, fix});
      return;
    }
    const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(r.token.expires_at - auth::Clock::now());
    rows_.push_back({name, "-", "-", "token", true, fmt::format("ok, valid for {} min", minutes.count()), ""});
    state.token_ok = true;
    state.claims = auth::decode_token_claims(r.token.value.reveal());
    state.token = std::move(r.token.value);
    check_claims(name, t, state);
  }

  void check_claims(const std::string& name, const conf::Tenant& t, const TenantState& state) {
    if (!state.claims) {
      rows_.push_back({name, "-", "-", "roles", true, "not checked: the token is not a JWT", ""});
      return;
    }
    const auto& c = *state.claims;
    if (!c.appid.empty() && c.appid != t.client_id)
      rows_.push_back({name, "-", "-", "app", false, "the token is for app " + c.appid + ", not " + t.client_id,
                       "check client_id and authority"});
    std::vector<std::string> needed, missing;
    for (const auto& m : plan_.mailboxes)
      if (m.tenant == name)
        for (auto p : m.protocols)
          if (!(p == conf::Protocol::smtp && sends_via_graph(t)) &&  // Graph's role has its own row
              std::find(needed.begin(), needed.end(), auth::required_role(p)) == needed.end())
            needed.emplace_back(auth::required_role(p));
    for (const auto& r : needed)
      if (!c.has_role(r)) missing.push_back(r);
    std::string have;
    for (const auto& r : c.roles) have += (have.empty() ? "" : " ") + r;
    if (missing.empty()) {
      rows_.push_back({name, "-", "-", "roles", true, "ok: " + (have.empty() ? std::string("none needed") : have), ""});
    } else {
      std::string list;
      for (const auto& r : missing) list += (list.empty() ? "" : ", ") + r;
      rows_.push_back({name, "-", "-", "roles", false,
                       "missing " + list + " (the token has: " + (have.empty() ? "no roles" : have) + ")",
                       fix_missing_roles(t, missing)});
    }
  }

  net::awaitable<void> check_mailbox(const DoctorMailbox& m, conf::Protocol p, const TenantState& state) {
    const auto& t = cfg_.tenants.at(m.tenant);
    // One TLS context per tenant: building one reads the system CA store.
    auto& tls = upstream_tls_[m.tenant];
    if (!tls) tls = make_client_tls(t.ca_file);
    switch (p) {
      case conf::Protocol::smtp: co_await check_smtp(m, t, *tls, state); break;
      case conf::Protocol::imap: co_await check_mailbox_login<imap::Client>(m, t, p, *tls, state); break;
      case conf::Protocol::pop3: co_await check_mailbox_login<pop3::Client>(m, t, p, *tls, state); break;
    }
  }

  net::awaitable<void> check_smtp(const DoctorMailbox& m, const conf::Tenant& t, ssl::context& tls,
                                  const TenantState& state) {
    UpstreamSmtp::Settings s;
    s.endpoint = t.smtp;
    const conf::EgressProxy* proxy = t.proxy_for(t.smtp.host);
    if (proxy) s.proxy = std::make_shared<const conf::EgressProxy>(*proxy);
    s.helo_name = cfg_.hostname;
    s.mailbox = m.mailbox;
    s.connect_timeout = cfg_.limits.upstream_connect_timeout;
    s.reply_timeout = cfg_.limits.upstream_reply_timeout;
    UpstreamSmtp up(co_await net::this_coro::executor, tls, s);
    auto login = co_await up.open(std::string(state.token.reveal()));
    if (proxy) {
      const bool proxy_failed = login.hop == Hop::proxy;
      add_proxy_row(m, conf::Protocol::smtp, t, *proxy, t.smtp, proxy_failed, login.proxy_status, login.detail);
      if (proxy_failed) co_return;
    }
    DoctorRow row{m.tenant, m.mailbox, "smtp", "login", login.status == UpstreamLogin::Status::ok, "", ""};
    if (row.ok) {
      row.result = "ok";
    } else {
      row.result = login.reply.code ? login.said() : login.detail;
      row.fix = smtp_login_fix(login, m, t, state);
    }
    rows_.push_back(row);
    if (!row.ok) co_return;
    for (const auto& sender : m.senders) {
      DoctorRow send{m.tenant, m.mailbox, "smtp", "send as " + sender, false, "", ""};
      // MAIL FROM, then RCPT TO the mailbox itself: servers may judge the
      // sender only at RCPT (Postfix does by default). RSET sends nothing.
      auto reply = co_await up.command("MAIL FROM:<" + sender + ">");
      if (reply && reply->klass() == 2) reply = co_await up.command("RCPT TO:<" + m.mailbox + ">");
      if (!reply) {
        send.result = "connection lost: " + up.error();
        rows_.push_back(send);
        co_return;
      }
      send.ok = reply->klass() == 2;
      send.result = send.ok ? "ok" : reply->summary();
      // 5.7.x is a policy refusal (Exchange: 5.7.60): the app's SendAs right.
      if (!send.ok) send.fix = reply->enhanced().starts_with("5.7.") ? fix_send_as(t, sender, sp_object_id(state))
                                                                 : "see the reply";
      rows_.push_back(send);
      // A named result, not `!co_await` in a condition: GCC 12 miscompiled that shape.
      const auto reset = co_await up.command("RSET");
      if (!reset) co_return;
    }
    co_await up.quit();
  }

  std::string smtp_login_fix(const UpstreamLogin& login, const DoctorMailbox& m, const conf::Tenant& t,
                             const TenantState& state) {
    using S = UpstreamLogin::Status;
    if (login.status == S::tls_failed && is_certificate_failure(login.detail))
      return fix_tls_verification(t, t.smtp.host + ":" + std::to_string(t.smtp.port));
    if (login.status == S::connect_failed || login.status == S::tls_failed) return fix_unreachable(t.smtp);
    if (login.reply.enhanced() == "5.7.139" ||
        login.reply.summary().find("SmtpClientAuthentication is disabled") != std::string::npos)
      return fix_smtp_auth_disabled(m.mailbox);
    if (login.status == S::refused) return refused_fix(m, t, state, conf::Protocol::smtp);
    return "Office 365 answered unexpectedly; try again, and check the relay's log at debug level";
  }

  // The outbound proxy's own row, before the login's: which leg failed (the
  // relay's proxy or Office 365) decides who fixes it. When the proxy
  // failed, the login row says it was not tried and the fix is the proxy's.
  void add_proxy_row(const DoctorMailbox& m, conf::Protocol p, const conf::Tenant& t, const conf::EgressProxy& proxy,
                     const conf::Endpoint& ep, bool failed, int status, const std::string& detail) {
    const std::string target = ep.host + ":" + std::to_string(ep.port);
    DoctorRow row{m.tenant, m.mailbox, conf::to_string(p), "proxy", !failed, "", ""};
    if (failed) {
      row.result = detail;
      row.fix = fix_proxy(t, proxy, ep, status);
    } else {
      row.result = "ok, CONNECT " + target + " through " + proxy.url;
    }
    rows_.push_back(row);
    if (failed)
      rows_.push_back({m.tenant, m.mailbox, conf::to_string(p), "login", false,
                       "not tried: the proxy hop to " + target + " failed", ""});
  }

  // A refused login: a missing role is already reported (and is the cause);
  // otherwise it is the Exchange side: service principal or mailbox access.
  std::string refused_fix(const DoctorMailbox& m, const conf::Tenant& t, const TenantState& state, conf::Protocol p) {
    if (is_google(t)) return fix_google_login(t, p);
    const char* role = auth::required_role(p);
    if (state.claims && !state.claims->has_role(role))
      return fmt::format("the token lacks {}; see the roles fix above", role);
    return fix_mailbox_access(t, m.mailbox, role, sp_object_id(state));
  }

  template <typename Client>
  net::awaitable<void> check_mailbox_login(const DoctorMailbox& m, const conf::Tenant& t, conf::Protocol p,
                                           ssl::context& tls, const TenantState& state) {
    const auto& ep = t.endpoint(p);
    DoctorRow row{m.tenant, m.mailbox, conf::to_string(p), "login", false, "", ""};
    Connection conn(tcp::socket(co_await net::this_coro::executor), tls);
    const conf::EgressProxy* proxy = t.proxy_for(ep.host);
    auto failed = co_await connect_upstream(conn, ep, proxy, cfg_.limits.upstream_connect_timeout, true);
    if (proxy) {
      const bool proxy_failed = failed && failed->hop == Hop::proxy;
      const int status = failed ? failed->proxy_status : 0;
      const std::string detail = failed ? failed->detail : "";
      add_proxy_row(m, p, t, *proxy, ep, proxy_failed, status, detail);
      if (proxy_failed) co_return;
    }
    if (failed) {
      row.result = failed->detail;
      row.fix = failed->tls && is_certificate_failure(failed->detail)
                    ? fix_tls_verification(t, ep.host + ":" + std::to_string(ep.port))
                    : fix_unreachable(ep);
      rows_.push_back(row);
      co_return;
    }
    Client client(LoginClientOptions{m.mailbox}, std::string(state.token.reveal()));
    std::string io_problem;
    auto ev = co_await drive_login(conn, client, cfg_.limits.upstream_reply_timeout, io_problem);
    if (ev == ClientEvent::logged_in) {
      row.ok = true;
      row.result = "ok";
      rows_.push_back(row);
      // Exchange accepts an IMAP login without FullAccess and refuses only
      // when a mailbox is opened: look inside before calling it fine.
      if constexpr (std::is_same_v<Client, imap::Client>) co_await examine_inbox(conn, client, m, t, state);
      // Log out politely; the answer does not matter.
      co_await conn.write_all(Client::kLogout, std::chrono::seconds(5));
      co_await conn.close(std::chrono::seconds(5));
      co_return;
    } else {
      row.result = std::string(to_string(client.failure())) +
                   (client.failure_text().empty() ? "" : ": " + client.failure_text()) +
                   (io_problem == "-" ? "" : " (" + io_problem + ")");
      if (client.failure() == LoginFailure::auth_refused)
        row.fix = refused_fix(m, t, state, p);
      else if (client.failure() == LoginFailure::temporary)
        row.fix = "Office 365 is busy for this mailbox (too many connections, or throttling); try again later, "
                  "and keep max_connections_per_mailbox within what Exchange allows";
      else
        row.fix = "Office 365 did not complete the login; try again, and check " + ep.host + ":" +
                  std::to_string(ep.port);
    }
    rows_.push_back(row);
    co_await conn.close(std::chrono::seconds(5));
  }

  // EXAMINE INBOX (read-only) after the IMAP login: its own row.
  net::awaitable<void> examine_inbox(Connection& conn, imap::Client& client, const DoctorMailbox& m,
                                     const conf::Tenant& t, const TenantState& state) {
    DoctorRow row{m.tenant, m.mailbox, "imap", "examine INBOX", false, "", ""};
    imap::ExamineProbe probe;
    auto result = probe.feed(client.take_leftover());
    auto w = co_await conn.write_all(imap::ExamineProbe::kCommand, cfg_.limits.upstream_reply_timeout);
    std::string io_problem;
    if (!w.ok()) {
      io_problem = "write: " + w.describe();
      result = probe.eof();
    }
    std::array<char, 4096> buf{};
    while (result == imap::ExamineProbe::Result::need_input) {
      auto r = co_await conn.read_some(net::buffer(buf), cfg_.limits.upstream_reply_timeout);
      if (r.ok()) {
        result = probe.feed(std::string_view(buf.data(), r.bytes));
      } else {
        io_problem = "read: " + r.describe();
        result = probe.eof();
      }
    }
    row.ok = result == imap::ExamineProbe::Result::ok;
    row.result = row.ok ? "ok" : probe.said() + (io_problem.empty() ? "" : " (" + io_problem + ")");
    if (!row.ok)
      row.fix = probe.not_connected() || result == imap::ExamineProbe::Result::refused
                    ? fix_full_access(t, m.mailbox, sp_object_id(state))
                    : "Office 365 did not answer EXAMINE INBOX; try again, and check " + t.imap.host + ":" +
                          std::to_string(t.imap.port);
    rows_.push_back(row);
  }

  static std::string sp_object_id(const TenantState& state) { return state.claims ? state.claims->oid : ""; }

  const conf::Config& cfg_;
  DoctorPlan plan_;
  std::map<std::string, TenantState> tenants_;
  std::map<std::string, std::shared_ptr<ssl::context>> upstream_tls_;
  std::vector<DoctorRow> rows_;
  GraphDoctor graph_{cfg_, rows_};
  std::map<std::string, TenantState> google_states_;  // "tenant/mailbox"
  GoogleDoctor google_{cfg_, rows_};
};

}  // namespace

int run_doctor(const conf::Config& cfg, const DoctorOptions& options, std::ostream& out) {
  Doctor doctor(cfg, options);
  if (doctor.plan_empty()) {
    out << (options.tenant.empty() ? "no tenants in the configuration\n" : "no tenant named " + options.tenant + "\n");
    return 1;
  }
  // A mailbox doctor would not check is an error, not a silent pass.
  if (auto problem = mailbox_filter_problem(cfg, options.tenant, options.mailbox, doctor.plan()); !problem.empty()) {
    out << problem << "\n";
    return 1;
  }
  auto rows = doctor.run();
  out << render_doctor_report(rows);
  for (const auto& r : rows)
    if (!r.ok) return 1;
  return 0;
}

}  // namespace xr::relay
