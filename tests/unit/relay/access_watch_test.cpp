#include "relay/session/access_watch.hpp"

#include <doctest/doctest.h>

using namespace xr;
using namespace xr::relay;
using auth::Revocation;

namespace {

conf::IpAddress ip(const char* text) { return *conf::IpAddress::parse(text); }

std::shared_ptr<const ConfigSnapshot> snapshot(const std::string& hash, const std::string& client_id = "app-1") {
  conf::Config cfg;
  conf::Tenant t;
  t.name = "contoso";
  t.tenant_id = "contoso.onmicrosoft.com";
  t.client_id = client_id;
  cfg.tenants.emplace(t.name, t);
  conf::User u;
  u.name = "scanner01";
  u.password_hash = hash;
  u.tenant = "contoso";
  u.mailbox = "scanner@contoso.com";
  u.protocols = {conf::Protocol::smtp};
  u.senders = {"scanner@contoso.com"};
  cfg.users.emplace(u.name, u);
  auto snap = std::make_shared<ConfigSnapshot>();
  snap->config = std::move(cfg);
  return snap;
}

auth::Grant grant_of(const ConfigSnapshot& s) {
  const auto& u = s.config.users.at("scanner01");
  return auth::Grant{u.name, u.tenant, u.mailbox, u.senders, u.rewrite_sender, u.delivery};
}

const auto kDevice = ip("192.168.10.7");
constexpr auto smtp = conf::Protocol::smtp;

}  // namespace

TEST_CASE("a session without a grant only learns the newest config for its login") {
  auto a = snapshot("$y$old");
  AccessWatch w(a);
  auto b = snapshot("$y$new");
  CHECK(w.reloaded(b, nullptr, kDevice, smtp) == Revocation::none);
  CHECK(w.latest() == b);
  CHECK(w.revoked() == Revocation::none);
}

TEST_CASE("a grant is judged against each reload, from the snapshot it came from") {
  auto a = snapshot("$y$old");
  AccessWatch w(a);
  auto g = grant_of(*a);
  CHECK(w.granted(a, g, kDevice, smtp) == Revocation::none);
  auto same = snapshot("$y$old");
  CHECK(w.reloaded(same, &g, kDevice, smtp) == Revocation::none);
  CHECK(w.grant_snap() == a);  // a valid grant keeps its endpoint's snapshot
  CHECK(w.reloaded(same, &g, kDevice, smtp) == Revocation::none);  // the same snapshot twice: nothing
  auto changed = snapshot("$y$new");
  CHECK(w.reloaded(changed, &g, kDevice, smtp) == Revocation::password_changed);
  CHECK(w.revoked() == Revocation::password_changed);
  // Reported once; the session is ending.
  CHECK(w.reloaded(snapshot("$y$other"), &g, kDevice, smtp) == Revocation::none);
  CHECK(w.revoked() == Revocation::password_changed);
  // A login that completes after that is not reported again (it would be
  // logged and counted twice); the session sees it through revoked().
  CHECK(w.granted(changed, g, kDevice, smtp) == Revocation::none);
  CHECK(w.revoked() == Revocation::password_changed);
}

TEST_CASE("a login checked against an older snapshot than the newest is judged at once") {
  auto a = snapshot("$y$old");
  AccessWatch w(a);
  auto b = snapshot("$y$old", "app-2");  // the tenant's app changed while the password was checked
  CHECK(w.reloaded(b, nullptr, kDevice, smtp) == Revocation::none);
  CHECK(w.granted(a, grant_of(*a), kDevice, smtp) == Revocation::tenant_changed);
  CHECK(w.revoked() == Revocation::tenant_changed);
  // Reported once: a retried login on the same session gets none back, and
  // the session must end on revoked().
  CHECK(w.granted(w.latest(), grant_of(*b), kDevice, smtp) == Revocation::none);
  CHECK(w.revoked() == Revocation::tenant_changed);
}

TEST_CASE("a login after a reload takes its grant, endpoint and TLS from the new snapshot") {
  auto a = snapshot("$y$old");
  AccessWatch w(a);
  auto b = snapshot("$y$new", "app-2");
  w.reloaded(b, nullptr, kDevice, smtp);
  CHECK(w.granted(w.latest(), grant_of(*b), kDevice, smtp) == Revocation::none);
  CHECK(w.grant_snap() == b);
}
