// Which tokens the relay keeps. The token provider caches one token per
// "token key"; a key names a tenant plus, where one tenant needs several
// tokens, what the token is for:
//   "contoso"              a Microsoft tenant's Exchange token (SMTP/IMAP/POP3 XOAUTH2)
//   "contoso/graph"        the same tenant's Graph token (smtp: {via: graph})
//   "acme/scan@acme.com"   a Google tenant's token for one mailbox (domain-wide
//                          delegation: `sub` is the mailbox, so tokens are per mailbox)
// Tenant names cannot hold '/', so keys never collide.
#pragma once

#include "conf/config.hpp"

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace xr::auth {

// The key of the token a session for `mailbox` of `tenant` needs for `protocol`.
std::string token_key(const conf::Tenant& tenant, conf::Protocol protocol, const std::string& mailbox);

// Every token key the config needs, each with the tenant settings its token
// request uses (a copy of the tenant; for "X/graph" its scope is
// graph.scope; for a Google key, the mailbox to act as is in
// `google_subject`). Google tenants get one key per mailbox that a user or
// no_auth rule maps to them. What TokenProvider::set_tenants takes.
struct TokenTarget {
  TokenTarget() = default;
  // Implicit: a Microsoft tenant stands for its own key's target (tests and
  // callers write {{"contoso", tenant}}).
  TokenTarget(conf::Tenant t, std::string subject = {})  // NOLINT(google-explicit-constructor)
      : tenant(std::move(t)), google_subject(std::move(subject)) {}
  conf::Tenant tenant;
  std::string google_subject;  // Google keys only: the JWT's `sub`
};
std::map<std::string, TokenTarget> token_targets(const conf::Config& config);

// The keys of token_targets(config), sorted, without copying any tenant (or
// its credentials): for readiness, STATUS= and /metrics, which run often.
std::vector<std::string> token_keys(const conf::Config& config);

}  // namespace xr::auth
