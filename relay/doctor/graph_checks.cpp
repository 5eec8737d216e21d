#include "relay/doctor/graph_checks.hpp"

#include "auth/aadsts.hpp"
#include "auth/http_client.hpp"
#include "auth/token_keys.hpp"
#include "auth/token_request.hpp"
#include "relay/graph/graph_send.hpp"

#include <fmt/format.h>

namespace xr::relay {
namespace {

constexpr const char* kMailSend = "Mail.Send";

std::string sp_id(std::string_view oid) {
  return oid.empty() ? std::string("<the Enterprise application's Object ID>") : std::string(oid);
}

// The management scope's name in the fix: one per relay, holding its mailboxes.
constexpr const char* kScopeName = "xoauth2-relay mailboxes";

std::string fix_mailbox_unknown(const conf::Tenant& t, const std::string& mailbox) {
  return fmt::format("Microsoft Graph knows no mailbox {} in tenant {}: check the address the relay's users and "
                     "no_auth rules map to (a typo, or an alias instead of the primary address), and that the user "
                     "has an Exchange Online mailbox (a licence)",
                     mailbox, t.tenant_id);
}

std::string fix_unreachable_graph(const conf::Tenant& t, const std::string& detail) {
  std::string fix = "the relay could not reach " + t.graph.endpoint + ": check DNS and the firewall (HTTPS, port 443";
  fix += t.proxy ? ", through the tenant's proxy " + t.proxy->url + ")" : ")";
  if (detail.find("certificate") != std::string::npos || detail.find("SSL") != std::string::npos)
    fix += "; its certificate did not verify: a TLS-inspecting proxy's CA goes into tenants." + t.name + ".ca_file";
  return fix + "; tenants." + t.name + ".graph.endpoint must be Graph's origin for the tenant's cloud";
}

}  // namespace

bool sends_via_graph(const conf::Tenant& t) {
  return t.provider == conf::Provider::microsoft && t.smtp_via == conf::SmtpVia::graph;
}

std::string fix_graph_send(const conf::Tenant& t, const std::string& mailbox, std::string_view sp_object_id) {
  return fmt::format(
      "the app may not send as {} through Microsoft Graph. Least privilege (RBAC for Applications), in Exchange "
      "Online PowerShell: New-ServicePrincipal -AppId {} -ObjectId {} -DisplayName xoauth2-relay (once per tenant; "
      "the Object ID on Entra admin center > Enterprise applications > the app with Application ID {}, not the app "
      "registration's); New-ManagementScope -Name \"{}\" -RecipientRestrictionFilter \"PrimarySmtpAddress -eq "
      "'{}'\"; New-ManagementRoleAssignment -App {} -Role \"Application Mail.Send\" -CustomResourceScope \"{}\"; "
      "check with Test-ServicePrincipalAuthorization -Identity {} -Resource {} (changes take 15-30 minutes). Or "
      "for every mailbox of the tenant: Entra admin center > App registrations > {} > API permissions > Microsoft "
      "Graph > Application permissions > Mail.Send, then Grant admin consent for tenant {} (with that consent a "
      "management scope limits nothing: remove it to scope the app)",
      mailbox, t.client_id, sp_id(sp_object_id), t.client_id, kScopeName, mailbox, t.client_id, kScopeName,
      t.client_id, mailbox, t.client_id, t.tenant_id);
}

GraphDoctor::GraphDoctor(const conf::Config& cfg, std::vector<DoctorRow>& rows)
    : cfg_(cfg), rows_(rows), client_(graph::make_curl_client()) {}

GraphDoctor::~GraphDoctor() = default;

void GraphDoctor::check_tenant(const std::string& name) {
  const auto& t = cfg_.tenants.at(name);
  if (!sends_via_graph(t)) return;
  auto& state = states_[name];
  // The tenant with Graph's scope: what the token provider asks for under
  // the key "<tenant>/graph".
  auto targets = auth::token_targets(cfg_);
  auto it = targets.find(name + "/graph");
  auth::TokenTarget target = it != targets.end() ? it->second : auth::TokenTarget{t, ""};
  target.tenant.scope = t.graph.scope;
  auth::HttpRequest req;
  auth::TokenError err;
  if (!auth::build_token_request(target, auth::Clock::now(), req, err)) {
    rows_.push_back({name, "-", "-", "graph token", false, err.summary, err.fix});
    return;
  }
  req.connect_timeout = std::chrono::milliseconds(10000);
  req.total_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.limits.token_timeout);
  auto resp = auth::make_curl_http_client()->post_form(req);
  auto r = auth::consume_token_response(resp, auth::Clock::now());  // wipes the body, which holds the token
  if (!r.ok) {
    std::string fix = r.error.fix;
    for (long code : r.error.aadsts_codes)
      if (auto f = auth::aadsts_tenant_fix(code, target.tenant); !f.empty()) {
        fix = f;
        break;
      }
    if (fix.empty()) fix = "check tenants." + name + ".graph.scope (" + t.graph.scope + ") and the app's credential";
    rows_.push_back({name, "-", "-", "graph token", false, r.error.summary, fix});
    return;
  }
  const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(r.token.expires_at - auth::Clock::now());
  rows_.push_back({name, "-", "-", "graph token", true,
                   fmt::format("ok, scope {}, valid for {} min", t.graph.scope, minutes.count()), ""});
  state.token_ok = true;
  state.claims = auth::decode_token_claims(r.token.value.reveal());
  state.token = std::move(r.token.value);
  // Not having the role is no failure: with RBAC for Applications Exchange
  // grants Mail.Send per mailbox and the token carries no role for it; the
  // mailbox rows below tell.
  if (!state.claims) {
    rows_.push_back({name, "-", "-", "graph roles", true, "not checked: the token is not a JWT", ""});
  } else if (state.claims->has_role(kMailSend)) {
    rows_.push_back({name, "-", "-", "graph roles", true, "ok: Mail.Send (admin consent, every mailbox)", ""});
  } else {
    rows_.push_back({name, "-", "-", "graph roles", true,
                     "Mail.Send not in the token: fine with RBAC for Applications (Exchange grants it per "
                     "mailbox, see the graph mailbox rows); without it Graph refuses every message",
                     ""});
  }
}

void GraphDoctor::check_mailbox(const DoctorMailbox& m) {
  const auto& t = cfg_.tenants.at(m.tenant);
  DoctorRow row{m.tenant, m.mailbox, "smtp", "graph mailbox", false, "", ""};
  const auto& state = states_[m.tenant];
  if (!state.token_ok) {
    row.result = "not tried: no Graph token for this tenant";
    rows_.push_back(row);
    return;
  }
  graph::Target target = graph_target(t, m.mailbox, cfg_.limits);
  target.token = state.token;
  const graph::SendResult r = client_->get_user(target);
  const std::string oid = state.claims ? state.claims->oid : "";
  const std::string said = r.detail;
  if (r.kind == graph::SendResult::Kind::accepted) {
    row.ok = true;
    row.result = "ok, found by GET /v1.0/users/" + m.mailbox;
  } else if (r.http_status == 403 && r.graph_code == "Authorization_RequestDenied") {
    // Entra's own refusal: reading the directory needs User.Read.All, which
    // a least-privilege app (Mail.Send only) rightly lacks. Not a fault.
    row.ok = true;
    row.result = "not conclusive: the app may not read users (" + said +
                 "); the send right shows on the first message";
  } else if (r.http_status == 403) {
    row.result = said;
    row.fix = fix_graph_send(t, m.mailbox, oid);
  } else if (r.http_status == 404) {
    row.result = said;
    row.fix = fix_mailbox_unknown(t, m.mailbox);
  } else if (r.http_status == 401) {
    row.result = said;
    row.fix = "Graph refused the token: tenants." + m.tenant + ".graph.scope (" + t.graph.scope +
              ") must name the Graph of graph.endpoint (" + t.graph.endpoint + ")";
  } else if (r.http_status == 0) {
    row.result = said;
    row.fix = fix_unreachable_graph(t, said);
  } else if (r.kind == graph::SendResult::Kind::temporary) {
    row.result = said;
    row.fix = "Microsoft Graph is throttling or failing for now (HTTP " + std::to_string(r.http_status) +
              "); run doctor again later";
  } else {
    row.result = said;
    row.fix = "Microsoft Graph answered unexpectedly; check tenants." + m.tenant + ".graph.endpoint (" +
              t.graph.endpoint + ") and try again later";
  }
  rows_.push_back(row);
}

}  // namespace xr::relay
