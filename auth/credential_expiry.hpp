// When a tenant's credential lapses: the client secret's date from the config
// (client_secret_expires) or the certificate's notAfter. Once it has lapsed
// every token request fails and every device silently stops sending, so the
// relay warns well ahead.
#pragma once

#include "conf/config.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace xr::auth {

struct CredentialExpiry {
  std::string credential;  // "client secret" or "certificate /etc/xoauth2-relay/app.crt"
  std::chrono::system_clock::time_point at;
};

// nullopt when unknown (a secret without client_secret_expires). Throws
// std::runtime_error when the certificate cannot be read.
std::optional<CredentialExpiry> credential_expiry(const conf::Tenant& tenant);

enum class ExpiryState { ok, soon, expired };
inline constexpr std::chrono::days kExpiryWarning{30};

ExpiryState expiry_state(std::chrono::system_clock::time_point at, std::chrono::system_clock::time_point now);

// What the admin does about it, with the tenant's own IDs.
std::string expiry_fix(const conf::Tenant& tenant);

}  // namespace xr::auth
