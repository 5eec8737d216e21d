#include "auth/token_keys.hpp"

#include <set>

namespace xr::auth {
namespace {

// Mailboxes are compared without case (as Exchange and Google do), so
// "Scan@acme.com" and "scan@acme.com" share one token.
std::string lower(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

bool is_google(const conf::Tenant& t) { return t.provider == conf::Provider::google; }

void add_google_key(std::map<std::string, TokenTarget>& out, const conf::Config& config, const std::string& tenant,
                    const std::string& mailbox) {
  auto it = config.tenants.find(tenant);
  if (it == config.tenants.end() || !is_google(it->second)) return;
  const std::string subject = lower(mailbox);
  if (out.count(tenant + "/" + subject)) return;
  out.emplace(tenant + "/" + subject, TokenTarget{it->second, subject});
}

}  // namespace

std::string token_key(const conf::Tenant& tenant, conf::Protocol protocol, const std::string& mailbox) {
  if (is_google(tenant)) return tenant.name + "/" + lower(mailbox);
  if (protocol == conf::Protocol::smtp && tenant.smtp_via == conf::SmtpVia::graph) return tenant.name + "/graph";
  return tenant.name;
}

std::map<std::string, TokenTarget> token_targets(const conf::Config& config) {
  std::map<std::string, TokenTarget> out;
  for (const auto& [name, t] : config.tenants) {
    if (is_google(t)) continue;  // per mailbox, below: no token without a `sub`
    out.emplace(name, TokenTarget{t, ""});
    if (t.smtp_via == conf::SmtpVia::graph) {
      TokenTarget graph{t, ""};
      graph.tenant.scope = t.graph.scope;
      out.emplace(name + "/graph", std::move(graph));
    }
  }
  for (const auto& [user_name, u] : config.users) add_google_key(out, config, u.tenant, u.mailbox);
  for (const auto& rule : config.no_auth) add_google_key(out, config, rule.tenant, rule.mailbox);
  return out;
}

std::vector<std::string> token_keys(const conf::Config& config) {
  std::set<std::string> keys;
  for (const auto& [name, t] : config.tenants) {
    if (is_google(t)) continue;
    keys.insert(name);
    if (t.smtp_via == conf::SmtpVia::graph) keys.insert(name + "/graph");
  }
  auto google = [&](const std::string& tenant, const std::string& mailbox) {
    auto it = config.tenants.find(tenant);
    if (it != config.tenants.end() && is_google(it->second)) keys.insert(tenant + "/" + lower(mailbox));
  };
  for (const auto& [user_name, u] : config.users) google(u.tenant, u.mailbox);
  for (const auto& rule : config.no_auth) google(rule.tenant, rule.mailbox);
  return {keys.begin(), keys.end()};
}

}  // namespace xr::auth
