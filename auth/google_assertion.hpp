// The JWT a Google service account signs to ask for a token on behalf of a
// mailbox (domain-wide delegation, RFC 7523 JWT bearer grant): RS256, `kid`
// = the key file's private_key_id, `sub` = the mailbox.
#pragma once

#include "conf/config.hpp"
#include "conf/secret.hpp"

#include <chrono>
#include <string>

namespace xr::auth {

// Header {alg: RS256, typ: JWT, kid}; claims {iss: client_email, sub:
// subject, scope, aud: token_uri, iat: now, exp: now + 3600 (Google's
// maximum)}. Throws std::runtime_error (never key material) when the key
// does not load as RSA.
conf::Secret make_google_assertion(const conf::ServiceAccount& account, const std::string& subject,
                                   const std::string& scope, std::chrono::system_clock::time_point now);

}  // namespace xr::auth
