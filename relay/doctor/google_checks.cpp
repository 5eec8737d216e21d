#include "relay/doctor/google_checks.hpp"

#include "auth/google_token.hpp"
#include "auth/http_client.hpp"
#include "auth/login_refusal.hpp"
#include "auth/token_keys.hpp"
#include "auth/token_request.hpp"

#include <fmt/format.h>

namespace xr::relay {

bool is_google(const conf::Tenant& t) { return t.provider == conf::Provider::google; }

void GoogleDoctor::check_tenant(const std::string& name) {
  const auto& t = cfg_.tenants.at(name);
  if (!is_google(t)) return;
  if (!t.service_account) {  // the loader never lets this through
    rows_.push_back({name, "-", "-", "service account", false, "no service account loaded",
                     "set tenants." + name + ".service_account_file to the service account's JSON key"});
    return;
  }
  const auto& sa = *t.service_account;
  rows_.push_back({name, "-", "-", "service account", true,
                   fmt::format("ok, {} (client ID {}, key {}), token endpoint {}", sa.client_email, sa.client_id,
                               sa.private_key_id, sa.token_uri),
                   ""});
}

std::optional<conf::Secret> GoogleDoctor::mailbox_token(const DoctorMailbox& m) {
  const auto& t = cfg_.tenants.at(m.tenant);
  std::string subject = m.mailbox;  // as auth::token_targets makes it: Google compares without case
  for (auto& c : subject)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  const auth::TokenTarget target{t, subject};
  DoctorRow row{m.tenant, m.mailbox, "-", "token", false, "", ""};
  auth::HttpRequest req;
  auth::TokenError err;
  if (!auth::build_token_request(target, auth::Clock::now(), req, err)) {
    row.result = err.summary;
    row.fix = err.fix;
    rows_.push_back(row);
    return std::nullopt;
  }
  req.connect_timeout = std::chrono::milliseconds(10000);
  req.total_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.limits.token_timeout);
  auto http = auth::make_curl_http_client();
  auto resp = http->post_form(req);
  auto r = auth::consume_token_response(resp, auth::Clock::now());  // wipes the body, which holds the token
  if (!r.ok) {
    auth::explain_google_error(target, r.error);
    row.result = r.error.summary;
    row.fix = r.error.fix;
    if (r.error.http_status == 0 && is_certificate_failure(r.error.summary))
      row.fix = fix_tls_verification(t, "the token endpoint " + t.token_url());
    rows_.push_back(row);
    return std::nullopt;
  }
  const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(r.token.expires_at - auth::Clock::now());
  row.ok = true;
  row.result = fmt::format("ok, valid for {} min (domain-wide delegation works for this mailbox)", minutes.count());
  rows_.push_back(row);
  return std::move(r.token.value);
}

std::string fix_google_login(const conf::Tenant& t, conf::Protocol p) { return auth::google_login_refused_cause(t, p); }

}  // namespace xr::relay
