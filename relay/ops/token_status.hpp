// Whether every configured tenant has a token, for /readyz and for systemd's
// STATUS= line (issue 15: a wrong secret must show at start, not when a
// printer first logs in). The words come from auth/token_readiness; this is
// the shell that reads the provider's state and calls sd_notify. Main
// context only (token events are posted there).
#pragma once

#include "auth/token_provider.hpp"
#include "auth/token_readiness.hpp"
#include "conf/config.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace xr::relay {

class TokenStatus {
 public:
  explicit TokenStatus(auth::TokenProvider& tokens) : tokens_(tokens) {}

  // One entry per tenant of `cfg`, in name order.
  std::vector<auth::TenantTokenStatus> tenants(const conf::Config& cfg) const;

  // /readyz reasons: tenants without a token (or still fetching their first).
  std::vector<std::string> not_ready(const conf::Config& cfg) const;

  // Sends STATUS= when it differs from the last one sent; `also` goes in the
  // same message first (e.g. "READY=1"), and forces sending. A no-op outside
  // systemd (no NOTIFY_SOCKET) and after stop().
  void publish(const conf::Config& cfg, std::string_view also = {});

  // From STOPPING=1 on, token events no longer change STATUS=.
  void stop() { stopped_ = true; }

 private:
  auth::TokenProvider& tokens_;
  std::string last_;
  bool stopped_ = false;
};

}  // namespace xr::relay
