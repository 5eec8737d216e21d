#include "auth/aadsts.hpp"

#include <fmt/format.h>

#include <array>

namespace xr::auth {
namespace {

constexpr std::array kAdvice{
    AadstsAdvice{7000215, "invalid client secret",
                 "copy the secret's Value (not its Secret ID) from the app registration into the secret file, "
                 "then reload",
                 false},
    AadstsAdvice{7000222, "client secret expired",
                 "create a new client secret in the app registration, write it to the secret file, then reload",
                 false},
    AadstsAdvice{700016, "application not found in the tenant",
                 "check client_id and tenant_id, and that an admin granted consent in this tenant", false},
    AadstsAdvice{90002, "tenant not found", "check tenant_id and the cloud (authority)", false},
    AadstsAdvice{90038, "tenant is in a national cloud",
                 "set the tenant's authority to its cloud, e.g. https://login.microsoftonline.us", false},
    AadstsAdvice{700027, "client assertion signature invalid",
                 "upload this certificate (the public part) to the app registration's Certificates & secrets",
                 false},
    AadstsAdvice{7000218, "neither a client secret nor a client assertion was sent",
                 "configure client_secret_file, client_secret_env or certificate for the tenant", false},
    AadstsAdvice{70011, "invalid scope", "set scope to https://outlook.office365.com/.default (or omit it)",
                 false},
    AadstsAdvice{700022, "more than one resource in scope",
                 "set scope to https://outlook.office365.com/.default (or omit it)", false},
    AadstsAdvice{500011, "resource principal not found",
                 "Exchange Online is not in this tenant, or the scope names the wrong host", false},
    AadstsAdvice{53003, "blocked by Conditional Access",
                 "exclude this workload identity from the policy or adjust the policy", false},
    AadstsAdvice{7000112, "application disabled", "re-enable the application in Entra ID", false},
    AadstsAdvice{700024, "client assertion not within its valid time range",
                 "the relay's clock is off: synchronise it (NTP)", false},
    AadstsAdvice{90033, "Entra ID is temporarily unavailable", "none; the relay retries", true},
    AadstsAdvice{50196, "request loop detected (throttled)", "none; the relay retries with backoff", true},
};

}  // namespace

const AadstsAdvice* find_aadsts(long code) {
  for (const auto& a : kAdvice)
    if (a.code == code) return &a;
  return nullptr;
}

namespace {

// "the client secret in /etc/xoauth2-relay/contoso.secret"
std::string secret_source(const conf::Tenant& t) {
  if (t.client_secret_file) return "the client secret in " + *t.client_secret_file;
  if (t.client_secret_env) return "the client secret in the environment variable " + *t.client_secret_env;
  return "the client secret";
}

// Where the new value goes: "that file" / "that variable".
std::string secret_target(const conf::Tenant& t) {
  if (t.client_secret_file) return "that file";
  if (t.client_secret_env) return "that variable";
  return "the tenant's client_secret_file";
}

std::string app_blade(const conf::Tenant& t) {
  return "Entra admin center > App registrations > application (client) ID " + t.client_id +
         " > Certificates & secrets";
}

}  // namespace

std::string aadsts_tenant_fix(long code, const conf::Tenant& t) {
  const std::string who = fmt::format("client ID {} in tenant {} ({})", t.client_id, t.name, t.tenant_id);
  const std::string key = "tenants." + t.name + ".";
  switch (code) {
    case 7000215:
      return fmt::format("{} is not valid for {}: create a new secret in {} and put its Value (not the Secret ID) "
                         "into {}, then reload",
                         secret_source(t), who, app_blade(t), secret_target(t));
    case 7000222:
      return fmt::format("{} for {} has expired: create a new secret in {}, put its Value (not the Secret ID) into "
                         "{}, set {}client_secret_expires to its expiry date, then reload",
                         secret_source(t), who, app_blade(t), secret_target(t), key);
    case 700016:
      return fmt::format("tenant {} ({}) has no application with client ID {}: set {}client_id to the app "
                         "registration's Application (client) ID and {}tenant_id to its Directory (tenant) ID, and "
                         "make sure an admin granted consent in this tenant",
                         t.name, t.tenant_id, t.client_id, key, key);
    case 90002:
      return fmt::format("{} does not know tenant {} ({}tenant_id): copy the Directory (tenant) ID from the app "
                         "registration's overview page; a tenant in a national cloud needs that cloud's {}authority",
                         t.authority, t.tenant_id, key, key);
    case 90038:
      return fmt::format("tenant {} ({}) is in a national cloud: set {}authority to that cloud, e.g. "
                         "https://login.microsoftonline.us",
                         t.name, t.tenant_id, key);
    case 700027:
      if (t.certificate)
        return fmt::format("Entra ID refused the client assertion signed with {} for {}: upload {} (the public part) "
                           "in {} > Certificates, or point {}certificate at the certificate uploaded there",
                           t.certificate->key_file, who, t.certificate->cert_file, app_blade(t), key);
      return {};
    case 70011:
    case 700022:
      return fmt::format("{}scope is {}: set it to https://outlook.office365.com/.default (or remove it)", key,
                         t.scope);
    case 7000112:
      return fmt::format("the application with {} is disabled: in Entra admin center > Enterprise applications > "
                         "{} > Properties, set \"Enabled for users to sign-in\" to Yes",
                         who, t.client_id);
    case 53003:
      return fmt::format("Conditional Access blocks {}: exclude this workload identity from the policy or adjust "
                         "the policy",
                         who);
    default: return {};
  }
}

}  // namespace xr::auth
