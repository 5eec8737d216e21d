// The client-credentials request for one tenant and the reading of Entra ID's
// answer. Pure functions: no I/O beyond reading the certificate files, so the
// whole exchange is unit-tested without a network.
#pragma once

#include "auth/http_client.hpp"
#include "auth/token.hpp"
#include "auth/token_keys.hpp"
#include "conf/config.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace xr::auth {

// application/x-www-form-urlencoded (RFC 3986 unreserved characters kept).
std::string form_encode(const std::vector<std::pair<std::string_view, std::string_view>>& fields);

// The POST for `tenant`: secret or a freshly signed certificate assertion.
// On failure (unreadable certificate or key) returns false and fills `err`
// with a non-transient, explained error.
bool build_token_request(const conf::Tenant& tenant, Clock::time_point now, HttpRequest& req, TokenError& err);

// The POST for one token key: the tenant's own request for Microsoft keys,
// the JWT bearer grant for a Google mailbox (auth/google_token.hpp).
bool build_token_request(const TokenTarget& target, Clock::time_point now, HttpRequest& req, TokenError& err);

// Reads the HTTP answer: a token with its expiry, or an explained error.
// Keeps nothing of an error body except codes and ids.
TokenResult parse_token_response(const HttpResponse& resp, Clock::time_point now);

// The same, then overwrites and empties resp.body, which held the token.
TokenResult consume_token_response(HttpResponse& resp, Clock::time_point now);

}  // namespace xr::auth
