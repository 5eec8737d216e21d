#include "auth/aadsts.hpp"

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

}  // namespace xr::auth
