// Whether every configured tenant has a token, in the words /readyz and
// systemd's STATUS= use. Pure: built from TokenProvider::stats(), no I/O.
//
// A tenant is `ok` while it holds a usable token (also when a refresh failed
// but the token still has time: devices are served), `failed` when its last
// fetch failed and it holds none, and `fetching` before its first answer (at
// start, or after a reload that changed its credential): /readyz says 503
// then too, since a device arriving now would wait for that request.
#pragma once

#include "auth/token_provider.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace xr::auth {

enum class TenantTokenState { ok, fetching, failed };

struct TenantTokenStatus {
  std::string tenant;
  TenantTokenState state = TenantTokenState::fetching;
  std::string error;  // failed: the explained error, e.g. "AADSTS7000215 invalid client secret"
  std::string fix;    // failed: what the admin should do
  std::optional<std::chrono::seconds> next_try;  // failed: the background retry, from now
};

TenantTokenStatus tenant_token_status(const std::string& tenant, const TokenProvider::TenantStats& stats,
                                      Clock::time_point now);

// /readyz lines for tenants without a token (empty when all have one), e.g.
// "tenant contoso has no token: AADSTS7000215 invalid client secret; fix: ...; next try in 40s".
std::vector<std::string> token_readiness_problems(const std::vector<TenantTokenStatus>& tenants);

// The text for systemd's STATUS=, short enough for `systemctl status`:
// "ready; all 2 tenants have tokens" or
// "ready; tenant contoso has no token (AADSTS7000215 invalid client secret); 1 of 2 tenants have tokens".
std::string token_status_line(const std::vector<TenantTokenStatus>& tenants);

}  // namespace xr::auth
