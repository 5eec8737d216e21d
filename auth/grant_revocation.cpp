#include "auth/grant_revocation.hpp"

#include <algorithm>
#include <cctype>

namespace xr::auth {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool same_endpoint(const conf::Endpoint& a, const conf::Endpoint& b) {
  return a.host == b.host && a.port == b.port && a.tls == b.tls;
}

// What a session's upstream depends on: whom the token is for and where it is
// presented. A token must never be sent to an endpoint of another snapshot.
bool same_tenant(const conf::Tenant& a, const conf::Tenant& b, conf::Protocol protocol) {
  auto cert = [](const conf::Tenant& t) {
    return t.certificate ? t.certificate->cert_file + "\n" + t.certificate->key_file : std::string();
  };
  return a.tenant_id == b.tenant_id && a.client_id == b.client_id && a.client_secret == b.client_secret &&
         cert(a) == cert(b) && a.authority == b.authority && a.scope == b.scope && a.ca_file == b.ca_file &&
         same_endpoint(a.endpoint(protocol), b.endpoint(protocol));
}

bool same_rewrite(const conf::SenderRewrite& a, const conf::SenderRewrite& b) {
  return a.envelope == b.envelope && a.from_header == b.from_header && a.reply_to == b.reply_to;
}

// The parts of a grant an SMTP session applies to every message.
bool same_sending(const Grant& g, const std::vector<std::string>& senders, const conf::SenderRewrite& rewrite,
                  conf::Delivery delivery) {
  return g.senders == senders && same_rewrite(g.rewrite_sender, rewrite) && g.delivery == delivery;
}

Revocation judge_tenant(const conf::Config& before, const conf::Config& after, const std::string& tenant,
                        conf::Protocol protocol) {
  auto was = before.tenants.find(tenant);
  auto now = after.tenants.find(tenant);
  if (now == after.tenants.end()) return Revocation::tenant_changed;
  // Unknown before (a grant built by hand): nothing to compare, judge by the
  // new config alone.
  if (was != before.tenants.end() && !same_tenant(was->second, now->second, protocol))
    return Revocation::tenant_changed;
  return Revocation::none;
}

Revocation judge_user(const conf::Config& before, const conf::Config& after, const Grant& grant,
                      const conf::IpAddress& source, conf::Protocol protocol) {
  auto now = after.users.find(grant.user);
  if (now == after.users.end()) return Revocation::user_removed;
  const conf::User& u = now->second;
  // The session proved the password that matched the old hash; a new hash
  // means the old password may no longer be valid (that is why it changed).
  auto was = before.users.find(grant.user);
  if (was == before.users.end() || was->second.password_hash != u.password_hash) return Revocation::password_changed;
  if (!u.allows(protocol)) return Revocation::protocol_not_allowed;
  if (!u.sources.empty() &&
      std::none_of(u.sources.begin(), u.sources.end(), [&](const conf::Cidr& c) { return c.contains(source); }))
    return Revocation::source_not_allowed;
  if (u.tenant != grant.tenant) return Revocation::tenant_changed;
  if (auto t = judge_tenant(before, after, grant.tenant, protocol); t != Revocation::none) return t;
  if (!iequals(u.mailbox, grant.mailbox)) return Revocation::mailbox_changed;
  if (protocol == conf::Protocol::smtp && !same_sending(grant, u.senders, u.rewrite_sender, u.delivery))
    return Revocation::grant_changed;
  return Revocation::none;
}

Revocation judge_no_auth(const conf::Config& before, const conf::Config& after, const Grant& grant,
                         const conf::IpAddress& source, conf::Protocol protocol) {
  auto now = match_no_auth(after, source);
  if (!now) return Revocation::no_auth_removed;
  if (now->tenant != grant.tenant || !iequals(now->mailbox, grant.mailbox) ||
      !same_sending(grant, now->senders, now->rewrite_sender, now->delivery))
    return Revocation::no_auth_changed;
  return judge_tenant(before, after, grant.tenant, protocol);
}

}  // namespace

const char* to_string(Revocation r) {
  switch (r) {
    case Revocation::none: return "none";
    case Revocation::user_removed: return "user_removed";
    case Revocation::password_changed: return "password_changed";
    case Revocation::protocol_not_allowed: return "protocol_not_allowed";
    case Revocation::source_not_allowed: return "source_not_allowed";
    case Revocation::tenant_changed: return "tenant_changed";
    case Revocation::mailbox_changed: return "mailbox_changed";
    case Revocation::grant_changed: return "grant_changed";
    case Revocation::no_auth_removed: return "no_auth_removed";
    case Revocation::no_auth_changed: return "no_auth_changed";
  }
  return "unknown";
}

Revocation judge_grant(const conf::Config& before, const conf::Config& after, const Grant& grant,
                       const conf::IpAddress& source, conf::Protocol protocol) {
  return grant.user.empty() ? judge_no_auth(before, after, grant, source, protocol)
                            : judge_user(before, after, grant, source, protocol);
}

}  // namespace xr::auth
