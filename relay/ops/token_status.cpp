#include "relay/ops/token_status.hpp"

#include "auth/token_keys.hpp"

#include <systemd/sd-daemon.h>

namespace xr::relay {

std::vector<auth::TenantTokenStatus> TokenStatus::tenants(const conf::Config& cfg) const {
  std::vector<auth::TenantTokenStatus> out;
  const auto now = auth::Clock::now();
  // Per token key: a Google tenant is ready when every mapped mailbox has one.
  for (const auto& key : auth::token_keys(cfg))
    out.push_back(auth::tenant_token_status(key, tokens_.stats(key), now));
  return out;
}

std::vector<std::string> TokenStatus::not_ready(const conf::Config& cfg) const {
  return auth::token_readiness_problems(tenants(cfg));
}

void TokenStatus::publish(const conf::Config& cfg, std::string_view also) {
  if (stopped_) return;
  auto line = auth::token_status_line(tenants(cfg));
  for (auto& c : line)
    if (c == '\n' || c == '\r') c = ' ';  // one notify field per line
  if (also.empty() && line == last_) return;
  last_ = line;
  std::string msg;
  if (!also.empty()) msg.append(also).append("\n");
  msg += "STATUS=" + line;
  sd_notify(0, msg.c_str());
}

}  // namespace xr::relay
