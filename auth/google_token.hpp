// Google Workspace tokens: the JWT bearer grant for one mailbox (domain-wide
// delegation) and Google's error answers explained for the admin. Pure
// functions like auth/token_request: no I/O.
#pragma once

#include "auth/http_client.hpp"
#include "auth/token.hpp"
#include "auth/token_keys.hpp"

namespace xr::auth {

// POST token_uri: grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer,
// assertion=<RS256 JWT, sub = target.google_subject>. False with an
// explained, permanent `err` when the key cannot sign (or the tenant has no
// service account, which the config loader never lets through).
bool build_google_token_request(const TokenTarget& target, Clock::time_point now, HttpRequest& req,
                                TokenError& err);

// Rewrites summary and fix of a failed Google token request in Google's
// terms: unauthorized_client (no domain-wide delegation), invalid_grant
// (unknown mailbox, a deleted key, a wrong clock), invalid_scope, ... Fixes
// name the Admin console's Security > API controls > Domain-wide delegation
// page, the service account's client ID and the scope.
void explain_google_error(const TokenTarget& target, TokenError& err);

// "Admin console > Security > API controls > Domain-wide delegation: ..."
// for `tenant`: the fix the doctor prints too.
std::string google_delegation_fix(const conf::Tenant& tenant);

}  // namespace xr::auth
