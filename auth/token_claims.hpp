// What an app-only access token says about the app, read from the JWT's
// payload (not verified: the relay only uses it to explain problems, Office
// 365 does the verifying).
#pragma once

#include "conf/config.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xr::auth {

struct TokenClaims {
  std::string tid;    // tenant (directory) ID
  std::string appid;  // client ID the token was issued to
  // The app's service principal in the tenant: the Object ID on the
  // Enterprise application's page, which New-ServicePrincipal -ObjectId and
  // Add-MailboxPermission -User take (the app registration's differs).
  std::string oid;
  std::vector<std::string> roles;  // application permissions granted with admin consent
  std::optional<std::chrono::system_clock::time_point> exp;
  bool has_role(std::string_view role) const;
};

// nullopt when the token is not a JWT with a JSON payload.
std::optional<TokenClaims> decode_token_claims(std::string_view jwt);

// The application permission Exchange wants for each protocol.
const char* required_role(conf::Protocol p);

}  // namespace xr::auth
