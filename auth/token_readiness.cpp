#include "auth/token_readiness.hpp"

namespace xr::auth {

TenantTokenStatus tenant_token_status(const std::string& tenant, const TokenProvider::TenantStats& stats,
                                      Clock::time_point now) {
  TenantTokenStatus s;
  s.tenant = tenant;
  if (stats.usable) {
    s.state = TenantTokenState::ok;
  } else if (stats.last_error) {
    s.state = TenantTokenState::failed;
    s.error = stats.last_error->summary.empty() ? "the token request failed" : stats.last_error->summary;
    s.fix = stats.last_error->fix;
    if (stats.next_try && !stats.fetching)
      s.next_try = std::max(std::chrono::seconds(0), std::chrono::ceil<std::chrono::seconds>(*stats.next_try - now));
  } else {
    s.state = TenantTokenState::fetching;
  }
  return s;
}

std::vector<std::string> token_readiness_problems(const std::vector<TenantTokenStatus>& tenants) {
  std::vector<std::string> out;
  for (const auto& t : tenants) {
    if (t.state == TenantTokenState::fetching) {
      out.push_back("fetching a token for tenant " + t.tenant);
    } else if (t.state == TenantTokenState::failed) {
      std::string line = "tenant " + t.tenant + " has no token: " + t.error;
      if (!t.fix.empty() && t.fix != "none") line += "; fix: " + t.fix;
      if (t.next_try) line += "; next try in " + std::to_string(t.next_try->count()) + "s";
      else line += "; trying again now";
      out.push_back(std::move(line));
    }
  }
  return out;
}

std::string token_status_line(const std::vector<TenantTokenStatus>& tenants) {
  std::size_t ok = 0;
  std::string problems;
  for (const auto& t : tenants) {
    if (t.state == TenantTokenState::ok) {
      ++ok;
      continue;
    }
    problems += "; ";
    if (t.state == TenantTokenState::fetching) problems += "fetching a token for tenant " + t.tenant;
    else problems += "tenant " + t.tenant + " has no token (" + t.error + ")";
  }
  const std::size_t n = tenants.size();
  if (n == 0) return "ready; no tenants configured";
  if (ok == n)
    return n == 1 ? "ready; tenant " + tenants.front().tenant + " has a token"
                  : "ready; all " + std::to_string(n) + " tenants have tokens";
  std::string line = "ready" + problems;
  if (n > 1) line += "; " + std::to_string(ok) + " of " + std::to_string(n) + " tenants have tokens";
  return line;
}

}  // namespace xr::auth
