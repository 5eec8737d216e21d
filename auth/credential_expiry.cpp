#include "auth/credential_expiry.hpp"

#include "auth/client_assertion.hpp"

namespace xr::auth {

std::optional<CredentialExpiry> credential_expiry(const conf::Tenant& tenant) {
  if (tenant.certificate)
    return CredentialExpiry{"certificate " + tenant.certificate->cert_file,
                            certificate_not_after(tenant.certificate->cert_file)};
  // Entra shows a date; the secret may stop working at any time that day.
  if (tenant.client_secret_expires) return CredentialExpiry{"client secret", *tenant.client_secret_expires};
  return std::nullopt;
}

ExpiryState expiry_state(std::chrono::system_clock::time_point at, std::chrono::system_clock::time_point now) {
  if (now >= at) return ExpiryState::expired;
  if (at - now <= kExpiryWarning) return ExpiryState::soon;
  return ExpiryState::ok;
}

std::string expiry_fix(const conf::Tenant& t) {
  const std::string where = "Entra admin center > App registrations > application (client) ID " + t.client_id +
                            " > Certificates & secrets";
  if (t.certificate)
    return "upload a renewed certificate in " + where + ", install it at " + t.certificate->cert_file +
           " (and its key), then reload";
  return "create a new client secret in " + where + ", write it to " +
         (t.client_secret_file ? *t.client_secret_file : "$" + t.client_secret_env.value_or("the variable")) +
         ", set client_secret_expires to its expiry date, then reload";
}

}  // namespace xr::auth
