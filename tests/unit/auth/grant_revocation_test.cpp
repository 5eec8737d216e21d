#include "auth/grant_revocation.hpp"

#include <doctest/doctest.h>

using namespace xr;
using namespace xr::auth;

namespace {

conf::IpAddress ip(const char* text) { return *conf::IpAddress::parse(text); }
conf::Cidr net(const char* text) { return *conf::Cidr::parse(text); }

// judge_grant compares hash strings; it never runs crypt(3).
conf::Config config() {
  conf::Config cfg;
  conf::Tenant t;
  t.name = "contoso";
  t.tenant_id = "contoso.onmicrosoft.com";
  t.client_id = "11111111-2222-3333-4444-555555555555";
  t.client_secret = conf::Secret("s3cret");
  cfg.tenants.emplace(t.name, t);
  conf::Tenant f = t;
  f.name = "fabrikam";
  f.tenant_id = "fabrikam.onmicrosoft.com";
  cfg.tenants.emplace(f.name, f);
  conf::User u;
  u.name = "scanner01";
  u.password_hash = "$y$j9T$old$hash";
  u.tenant = "contoso";
  u.mailbox = "scanner@contoso.com";
  u.protocols = {conf::Protocol::smtp, conf::Protocol::imap};
  u.sources = {net("192.168.10.0/24")};
  u.senders = {"scanner@contoso.com"};
  cfg.users.emplace(u.name, u);
  conf::User other = u;
  other.name = "other";
  other.mailbox = "other@contoso.com";
  cfg.users.emplace(other.name, other);
  conf::NoAuthRule r;
  r.sources = {net("10.1.0.0/16")};
  r.tenant = "contoso";
  r.mailbox = "mfp@contoso.com";
  r.senders = {"*@contoso.com"};
  cfg.no_auth.push_back(r);
  return cfg;
}

Grant user_grant(const conf::Config& cfg, const std::string& name = "scanner01") {
  const auto& u = cfg.users.at(name);
  return Grant{u.name, u.tenant, u.mailbox, u.senders, u.rewrite_sender, u.delivery};
}

const auto kDevice = ip("192.168.10.7");
const auto kMfp = ip("10.1.2.3");
constexpr auto smtp = conf::Protocol::smtp;
constexpr auto imap = conf::Protocol::imap;

}  // namespace

TEST_CASE("an unchanged user keeps the grant, whatever else the reload changed") {
  auto before = config();
  auto after = config();
  after.users.erase("other");
  after.limits.max_sessions = 7;
  after.no_auth.clear();
  CHECK(judge_grant(before, after, user_grant(before), kDevice, smtp) == Revocation::none);
  CHECK(judge_grant(before, after, user_grant(before), kDevice, imap) == Revocation::none);
}

TEST_CASE("a removed user is revoked") {
  auto before = config();
  auto after = config();
  after.users.erase("scanner01");
  CHECK(judge_grant(before, after, user_grant(before), kDevice, smtp) == Revocation::user_removed);
  CHECK(judge_grant(before, after, user_grant(before, "other"), kDevice, smtp) == Revocation::none);
}

TEST_CASE("a changed password hash is revoked, even when nothing else changed") {
  auto before = config();
  auto after = config();
  after.users.at("scanner01").password_hash = "$y$j9T$new$hash";
  CHECK(judge_grant(before, after, user_grant(before), kDevice, imap) == Revocation::password_changed);
  CHECK(to_string(Revocation::password_changed) == std::string("password_changed"));
}

TEST_CASE("a protocol taken away is revoked for that protocol only") {
  auto before = config();
  auto after = config();
  after.users.at("scanner01").protocols = {smtp};
  CHECK(judge_grant(before, after, user_grant(before), kDevice, imap) == Revocation::protocol_not_allowed);
  CHECK(judge_grant(before, after, user_grant(before), kDevice, smtp) == Revocation::none);
}

TEST_CASE("narrowed sources revoke sessions from addresses now outside them") {
  auto before = config();
  auto after = config();
  after.users.at("scanner01").sources = {net("192.168.10.0/28")};
  CHECK(judge_grant(before, after, user_grant(before), ip("192.168.10.200"), smtp) ==
        Revocation::source_not_allowed);
  CHECK(judge_grant(before, after, user_grant(before), ip("192.168.10.7"), smtp) == Revocation::none);
  SUBCASE("sources removed altogether means any address") {
    after.users.at("scanner01").sources.clear();
    CHECK(judge_grant(before, after, user_grant(before), ip("203.0.113.9"), smtp) == Revocation::none);
  }
}

TEST_CASE("another tenant, or the same tenant with another identity or endpoint, is revoked") {
  auto before = config();
  auto after = config();
  SUBCASE("the user moved to another tenant") {
    after.users.at("scanner01").tenant = "fabrikam";
    CHECK(judge_grant(before, after, user_grant(before), kDevice, smtp) == Revocation::tenant_changed);
  }
  SUBCASE("the tenant's app changed: a new token must not reach the old session") {
    after.tenants.at("contoso").client_id = "99999999-2222-3333-4444-555555555555";
    CHECK(judge_grant(before, after, user_grant(before), kDevice, smtp) == Revocation::tenant_changed);
  }
  SUBCASE("the tenant's secret changed") {
    after.tenants.at("contoso").client_secret = conf::Secret("rotated");
    CHECK(judge_grant(before, after, user_grant(before), kDevice, smtp) == Revocation::tenant_changed);
  }
  SUBCASE("the session's endpoint changed; another protocol's endpoint does not matter") {
    after.tenants.at("contoso").imap.host = "imap.example.net";
    CHECK(judge_grant(before, after, user_grant(before), kDevice, imap) == Revocation::tenant_changed);
    CHECK(judge_grant(before, after, user_grant(before), kDevice, smtp) == Revocation::none);
  }
  SUBCASE("the per-mailbox cap is not part of the identity") {
    after.tenants.at("contoso").smtp.max_connections_per_mailbox = 1;
    CHECK(judge_grant(before, after, user_grant(before), kDevice, smtp) == Revocation::none);
  }
}

TEST_CASE("another mailbox is revoked; the mailbox's case is not a change") {
  auto before = config();
  auto after = config();
  after.users.at("scanner01").mailbox = "Scanner@Contoso.com";
  CHECK(judge_grant(before, after, user_grant(before), kDevice, smtp) == Revocation::none);
  after.users.at("scanner01").mailbox = "printer@contoso.com";
  CHECK(judge_grant(before, after, user_grant(before), kDevice, smtp) == Revocation::mailbox_changed);
}

TEST_CASE("SMTP: changed senders, rewrite or delivery end the grant; IMAP does not use them") {
  auto before = config();
  auto after = config();
  SUBCASE("senders") { after.users.at("scanner01").senders = {"*@contoso.com"}; }
  SUBCASE("rewrite_sender") { after.users.at("scanner01").rewrite_sender.envelope = true; }
  SUBCASE("delivery") { after.users.at("scanner01").delivery = conf::Delivery::spool; }
  CHECK(judge_grant(before, after, user_grant(before), kDevice, smtp) == Revocation::grant_changed);
  CHECK(judge_grant(before, after, user_grant(before), kDevice, imap) == Revocation::none);
}

TEST_CASE("no_auth grants are judged by the rule that now matches the address") {
  auto before = config();
  auto grant = *match_no_auth(before, kMfp);
  auto after = config();
  SUBCASE("unchanged") { CHECK(judge_grant(before, after, grant, kMfp, smtp) == Revocation::none); }
  SUBCASE("the rule removed") {
    after.no_auth.clear();
    CHECK(judge_grant(before, after, grant, kMfp, smtp) == Revocation::no_auth_removed);
  }
  SUBCASE("the rule no longer covers the address") {
    after.no_auth[0].sources = {net("10.2.0.0/16")};
    CHECK(judge_grant(before, after, grant, kMfp, smtp) == Revocation::no_auth_removed);
  }
  SUBCASE("the rule's mailbox changed") {
    after.no_auth[0].mailbox = "copier@contoso.com";
    CHECK(judge_grant(before, after, grant, kMfp, smtp) == Revocation::no_auth_changed);
  }
  SUBCASE("the rule's tenant changed") {
    after.no_auth[0].tenant = "fabrikam";
    CHECK(judge_grant(before, after, grant, kMfp, smtp) == Revocation::no_auth_changed);
  }
  SUBCASE("the rule's senders changed") {
    after.no_auth[0].senders = {"mfp@contoso.com"};
    CHECK(judge_grant(before, after, grant, kMfp, smtp) == Revocation::no_auth_changed);
  }
  SUBCASE("an earlier rule now matches first, granting another mailbox") {
    conf::NoAuthRule first = after.no_auth[0];
    first.sources = {net("10.1.2.0/24")};
    first.mailbox = "lobby@contoso.com";
    after.no_auth.insert(after.no_auth.begin(), first);
    CHECK(judge_grant(before, after, grant, kMfp, smtp) == Revocation::no_auth_changed);
  }
  SUBCASE("the tenant's identity changed") {
    after.tenants.at("contoso").tenant_id = "other.onmicrosoft.com";
    CHECK(judge_grant(before, after, grant, kMfp, smtp) == Revocation::tenant_changed);
  }
}
