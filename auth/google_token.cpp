#include "auth/google_token.hpp"

#include "auth/google_assertion.hpp"
#include "auth/proxy_route.hpp"
#include "auth/token_request.hpp"

#include <fmt/format.h>

#include <exception>

namespace xr::auth {
namespace {

constexpr std::string_view kJwtBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer";

bool has(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

std::string client_id_of(const conf::Tenant& t) {
  return t.service_account ? t.service_account->client_id : std::string("(see service_account_file)");
}

std::string email_of(const conf::Tenant& t) {
  return t.service_account ? t.service_account->client_email : std::string("the service account");
}

}  // namespace

std::string google_delegation_fix(const conf::Tenant& t) {
  return fmt::format("in the Google Admin console, Security > API controls > Domain-wide delegation, add (or "
                     "edit) client ID {} ({}) with the OAuth scope {}; changes can take minutes to apply",
                     client_id_of(t), email_of(t), t.scope);
}

bool build_google_token_request(const TokenTarget& target, Clock::time_point now, HttpRequest& req,
                                TokenError& err) {
  const conf::Tenant& t = target.tenant;
  if (!t.service_account) {
    err = TokenError{};
    err.summary = "tenant " + t.name + " has no service account loaded";
    err.fix = "set service_account_file to the service account's JSON key and reload";
    return false;
  }
  req.url = t.service_account->token_uri;
  req.ca_file = t.ca_file;
  route_through_proxy(t, req);
  conf::Secret assertion;
  try {
    assertion = make_google_assertion(*t.service_account, target.google_subject, t.scope, now);
  } catch (const std::exception& ex) {
    err = TokenError{};
    err.summary = fmt::format("cannot sign the service account assertion: {}", ex.what());
    err.fix = "create a new JSON key for " + email_of(t) + " in the Google Cloud console (IAM > Service "
              "accounts > Keys), save it as service_account_file and reload";
    return false;
  }
  req.form_body = form_encode({{"grant_type", kJwtBearer}, {"assertion", assertion.reveal()}});
  return true;
}

void explain_google_error(const TokenTarget& target, TokenError& e) {
  const conf::Tenant& t = target.tenant;
  const std::string& sub = target.google_subject;
  const std::string detail = e.description.empty() ? e.error : e.error + ": " + e.description;
  if (e.http_status == 0) {
    // Unreachable (a proxy failure keeps its own fix): name Google's endpoint.
    if (e.summary.rfind("token endpoint unreachable", 0) == 0)
      e.fix = "check DNS, firewall and proxy towards " + t.token_url() + "; the relay retries";
    return;
  }
  if (e.error.empty()) {
    if (e.transient) return;
    e.summary = fmt::format("Google's token endpoint {} answered HTTP {} without an OAuth error", t.token_url(),
                            e.http_status);
    e.fix = "check token_uri in service_account_file (normally https://oauth2.googleapis.com/token) and any "
            "proxy on the way";
    return;
  }
  e.transient = e.transient && e.error != "unauthorized_client" && e.error != "invalid_grant";
  if (e.error == "unauthorized_client") {
    e.summary = fmt::format("Google refused a token for {}: domain-wide delegation is missing for the service "
                            "account {} ({})", sub, email_of(t), detail);
    e.fix = google_delegation_fix(t);
  } else if (e.error == "invalid_grant" && (has(e.description, "email") || has(e.description, "User ID"))) {
    e.summary = fmt::format("Google does not know the mailbox {} ({})", sub, detail);
    e.fix = "the mailbox of the users/no_auth rules mapped to tenant " + t.name + " must be a user of the "
            "Workspace domain (not a group or an alias); fix it or create the user, then reload; " +
            google_delegation_fix(t);
  } else if (e.error == "invalid_grant") {
    e.summary = fmt::format("Google refused the service account's assertion for {} ({})", sub, detail);
    e.fix = fmt::format("check that key {} of {} still exists (Google Cloud console > IAM > Service accounts > "
                        "Keys; if not, create a new JSON key, save it as service_account_file and reload) and "
                        "that the system clock is right (NTP)",
                        t.service_account ? t.service_account->private_key_id : std::string("?"), email_of(t));
  } else if (e.error == "invalid_scope") {
    e.summary = fmt::format("Google refused the scope {} for {} ({})", t.scope, sub, detail);
    e.fix = "use scope https://mail.google.com/ (the default; remove `scope:`); " + google_delegation_fix(t);
  } else if (e.error == "invalid_client" || e.error == "disabled_client") {
    e.summary = fmt::format("Google does not accept the service account {} ({})", email_of(t), detail);
    e.fix = "the service account or its key was deleted or disabled: enable it in the Google Cloud console "
            "(IAM > Service accounts) or create a new JSON key, save it as service_account_file and reload";
  } else if (!e.transient) {
    e.summary = fmt::format("Google's token endpoint answered HTTP {}: {}", e.http_status, detail);
    e.fix = google_delegation_fix(t);
  }
}

}  // namespace xr::auth
