// What identifies a tenant's app-only token: the token URL, the client, the
// scope, the CA used towards the authority, the credential itself and the
// proxy on the way. Two
// configs with the same identity would get the same token, so a reload keeps
// it; any difference (a rotated secret, a certificate file replaced in place,
// a corrected tenant id) means the token must be fetched again at once.
#pragma once

#include "auth/token_keys.hpp"
#include "conf/config.hpp"

#include <map>
#include <string>
#include <vector>

namespace xr::auth {

struct TokenIdentity {
  std::string token_url;  // {authority}/{tenant_id}/oauth2/v2.0/token
  std::string client_id;
  std::string scope;
  std::string ca_file;
  // SHA-256 (hex) of the secret value, or of the certificate and key files'
  // bytes as they are now: a file replaced under the same name is a change.
  // Never the secret itself. An unreadable file digests to a marker naming
  // the path, so the file becoming readable is a change too.
  std::string credential_digest;
  // The proxy the token request goes through ("" direct) and SHA-256 of its
  // credentials: a changed proxy counts as a changed tenant, so a reload
  // fetches again at once and a proxy mistake shows now, not at the refresh.
  std::string proxy_url;
  std::string proxy_credential_digest;
  // Google keys: the mailbox the token acts as (the JWT's `sub`).
  std::string subject;
  bool operator==(const TokenIdentity&) const = default;
};

// Reads the certificate and key files of a certificate credential, and a
// Google tenant's service account key file.
TokenIdentity token_identity(const TokenTarget& target);
inline TokenIdentity token_identity(const conf::Tenant& tenant) { return token_identity(TokenTarget{tenant, ""}); }

// One identity per token key (auth/token_keys.hpp).
std::map<std::string, TokenIdentity> token_identities(const std::map<std::string, TokenTarget>& targets);

// Keys of `after` that are new or whose identity differs from `before`
// (identities taken when `before` was installed), in name order.
std::vector<std::string> changed_tenants(const std::map<std::string, TokenIdentity>& before,
                                         const std::map<std::string, TokenIdentity>& after);

}  // namespace xr::auth
