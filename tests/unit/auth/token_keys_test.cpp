#include "auth/token_identity.hpp"
#include "auth/token_keys.hpp"
#include "tests/unit/auth/test_tenant.hpp"

#include <doctest/doctest.h>

using namespace xr;
using namespace xr::auth;

namespace {

conf::Tenant google_tenant(const std::string& name = "acme") {
  conf::Tenant t;
  t.name = name;
  t.provider = conf::Provider::google;
  t.scope = "https://mail.google.com/";
  conf::ServiceAccount sa;
  sa.client_email = "relay@acme-project.iam.gserviceaccount.com";
  sa.client_id = "112233445566778899001";
  sa.private_key_id = "kid-1";
  sa.private_key = conf::Secret("-----BEGIN PRIVATE KEY-----\nnot a real key\n-----END PRIVATE KEY-----\n");
  t.service_account = sa;
  return t;
}

conf::User user(const std::string& tenant, const std::string& mailbox) {
  conf::User u;
  u.name = mailbox;
  u.tenant = tenant;
  u.mailbox = mailbox;
  return u;
}

std::vector<std::string> keys(const std::map<std::string, TokenTarget>& targets) {
  std::vector<std::string> out;
  for (const auto& [k, t] : targets) out.push_back(k);
  return out;
}

}  // namespace

TEST_CASE("token_key: a Microsoft tenant's Exchange token, its Graph token for SMTP via Graph") {
  auto t = xr::test::secret_tenant("s");
  for (auto p : {conf::Protocol::smtp, conf::Protocol::imap, conf::Protocol::pop3})
    CHECK(token_key(t, p, "Scan@Contoso.com") == "contoso");
  t.smtp_via = conf::SmtpVia::graph;
  CHECK(token_key(t, conf::Protocol::smtp, "scan@contoso.com") == "contoso/graph");
  CHECK(token_key(t, conf::Protocol::imap, "scan@contoso.com") == "contoso");
  CHECK(token_key(t, conf::Protocol::pop3, "scan@contoso.com") == "contoso");
}

TEST_CASE("token_key: a Google tenant's token is per mailbox, without case") {
  auto g = google_tenant();
  CHECK(token_key(g, conf::Protocol::smtp, "Scan@Acme.com") == "acme/scan@acme.com");
  CHECK(token_key(g, conf::Protocol::imap, "scan@acme.com") == "acme/scan@acme.com");
  CHECK(token_key(g, conf::Protocol::pop3, "front@acme.com") == "acme/front@acme.com");
}

TEST_CASE("token_targets: every key the config needs, Google keys from users and no_auth rules") {
  conf::Config cfg;
  auto ms = xr::test::secret_tenant("s");
  ms.smtp_via = conf::SmtpVia::graph;
  ms.graph.scope = "https://graph.microsoft.us/.default";
  cfg.tenants["contoso"] = ms;
  cfg.tenants["acme"] = google_tenant();
  cfg.tenants["unused"] = google_tenant("unused");  // no mailbox maps to it: no key
  cfg.users["a"] = user("acme", "Scan@Acme.com");
  cfg.users["b"] = user("acme", "scan@acme.com");  // same mailbox: one key
  cfg.users["c"] = user("contoso", "scan@contoso.com");
  conf::NoAuthRule rule;
  rule.tenant = "acme";
  rule.mailbox = "printer@acme.com";
  cfg.no_auth.push_back(rule);

  auto targets = token_targets(cfg);
  CHECK(keys(targets) ==
        std::vector<std::string>{"acme/printer@acme.com", "acme/scan@acme.com", "contoso", "contoso/graph"});
  CHECK(token_keys(cfg) == keys(targets));
  CHECK(targets.at("contoso").tenant.scope == "https://outlook.office365.com/.default");
  CHECK(targets.at("contoso").google_subject.empty());
  CHECK(targets.at("contoso/graph").tenant.scope == "https://graph.microsoft.us/.default");
  CHECK(targets.at("acme/scan@acme.com").google_subject == "scan@acme.com");
  CHECK(targets.at("acme/printer@acme.com").google_subject == "printer@acme.com");
  CHECK(targets.at("acme/printer@acme.com").tenant.provider == conf::Provider::google);

  // Every key a session asks for is one the provider knows.
  for (const auto& [name, u] : cfg.users)
    for (auto p : {conf::Protocol::smtp, conf::Protocol::imap, conf::Protocol::pop3})
      CHECK(targets.count(token_key(cfg.tenants.at(u.tenant), p, u.mailbox)) == 1);
}

TEST_CASE("token_targets: a Microsoft tenant without Graph has one key") {
  conf::Config cfg;
  cfg.tenants["contoso"] = xr::test::secret_tenant("s");
  CHECK(keys(token_targets(cfg)) == std::vector<std::string>{"contoso"});
  CHECK(token_keys(cfg) == std::vector<std::string>{"contoso"});
}

TEST_CASE("token identity: the Google subject, the key and the token URI are part of it") {
  auto g = google_tenant();
  auto base = token_identity(TokenTarget{g, "scan@acme.com"});
  CHECK(base == token_identity(TokenTarget{g, "scan@acme.com"}));
  CHECK(base.token_url == "https://oauth2.googleapis.com/token");
  CHECK_FALSE(base == token_identity(TokenTarget{g, "front@acme.com"}));
  auto rotated = g;
  rotated.service_account->private_key = conf::Secret("-----BEGIN PRIVATE KEY-----\nother\n-----END PRIVATE KEY-----\n");
  rotated.service_account->private_key_id = "kid-2";
  CHECK_FALSE(base == token_identity(TokenTarget{rotated, "scan@acme.com"}));
  auto moved = g;
  moved.service_account->token_uri = "https://127.0.0.1:9443/token";
  CHECK_FALSE(base == token_identity(TokenTarget{moved, "scan@acme.com"}));
  // The digest never is the key itself.
  CHECK(base.credential_digest.find("PRIVATE KEY") == std::string::npos);
}

TEST_CASE("token identity: a Graph key differs from the Exchange key by scope") {
  auto t = xr::test::secret_tenant("s");
  t.smtp_via = conf::SmtpVia::graph;
  conf::Config cfg;
  cfg.tenants["contoso"] = t;
  auto ids = token_identities(token_targets(cfg));
  REQUIRE(ids.size() == 2);
  CHECK_FALSE(ids.at("contoso") == ids.at("contoso/graph"));
  CHECK(ids.at("contoso/graph").scope == "https://graph.microsoft.com/.default");
}
