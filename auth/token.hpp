// Results of asking the Microsoft identity platform for an app-only token.
#pragma once

#include "conf/secret.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace xr::auth {

using Clock = std::chrono::system_clock;

struct AccessToken {
  conf::Secret value;  // the bearer token; never logged
  Clock::time_point expires_at{};
  Clock::time_point fetched_at{};
};

// A failed token request, already explained for the log. Holds nothing secret:
// the response body is parsed, and only codes, ids and our own texts are kept.
struct TokenError {
  int http_status = 0;             // 0: no HTTP response (connect/TLS/timeout)
  std::string error;               // OAuth "error", e.g. "invalid_client"
  std::vector<long> aadsts_codes;  // from "error_codes"
  std::string trace_id;
  std::string correlation_id;
  // OAuth "error_description", cut to 200 printable ASCII characters: Google's
  // tells apart what `error` does not ("Invalid email or User ID" vs.
  // "Invalid JWT Signature." under invalid_grant). Holds no secret.
  std::string description;
  std::string summary;  // what happened, e.g. "AADSTS7000222 client secret expired"
  std::string fix;      // what the admin should do
  bool transient = false;  // worth retrying (network, 5xx, throttling)
};

struct TokenResult {
  bool ok = false;
  AccessToken token;   // when ok
  TokenError error;    // when !ok
};

}  // namespace xr::auth
