// Which tenants need a new token after a reload (issue 15: fetched at once).
#include "auth/token_identity.hpp"

#include "tests/unit/auth/test_tenant.hpp"
#include "tests/unit/temp_dir.hpp"

#include <doctest/doctest.h>

using namespace xr;
using namespace xr::auth;
using xr::test::TempDir;

namespace {

conf::Tenant secret_tenant(const std::string& secret = "s1") { return xr::test::secret_tenant(secret); }

conf::Tenant cert_tenant(const TempDir& dir) {
  conf::Tenant t = secret_tenant("");
  t.certificate = conf::CertificateCredential{dir.abs("app.crt"), dir.abs("app.key")};
  return t;
}

std::vector<std::string> changed(const conf::Tenant& before, const conf::Tenant& after) {
  return changed_tenants(token_identities({{"contoso", before}}), token_identities({{"contoso", after}}));
}

const std::vector<std::string> kNone;
const std::vector<std::string> kContoso{"contoso"};

}  // namespace

TEST_CASE("an identical tenant is unchanged; what only concerns mail hosts is not part of the identity") {
  CHECK(changed(secret_tenant(), secret_tenant()) == kNone);
  auto other = secret_tenant();
  other.smtp.port = 2525;
  other.imap.host = "imap.example";
  other.client_secret_file = "/elsewhere/same-value.secret";
  CHECK(changed(secret_tenant(), other) == kNone);
  auto slash = secret_tenant();
  slash.authority += "/";  // the same token URL
  CHECK(changed(secret_tenant(), slash) == kNone);
}

TEST_CASE("each part of the token's identity is a change") {
  auto base = secret_tenant();
  auto t = base;
  t.client_secret = conf::Secret("s2");
  CHECK(changed(base, t) == kContoso);
  t = base;
  t.client_id = "cid2";
  CHECK(changed(base, t) == kContoso);
  t = base;
  t.tenant_id = "tid2";
  CHECK(changed(base, t) == kContoso);
  t = base;
  t.authority = "https://login.microsoftonline.us";
  CHECK(changed(base, t) == kContoso);
  t = base;
  t.scope = "https://outlook.office365.us/.default";
  CHECK(changed(base, t) == kContoso);
  t = base;
  t.ca_file = "/etc/ssl/proxy-ca.pem";
  CHECK(changed(base, t) == kContoso);
}

TEST_CASE("the identity never holds the secret itself") {
  auto id = token_identity(secret_tenant("very-secret-value"));
  CHECK(id.credential_digest.size() == 64);
  CHECK(id.credential_digest.find("very-secret-value") == std::string::npos);
  CHECK(token_identity(secret_tenant("other")).credential_digest != id.credential_digest);
}

TEST_CASE("a certificate or key file replaced under the same name is a change") {
  TempDir dir;
  dir.write("app.crt", "CERT-1");
  dir.write("app.key", "KEY-1");
  auto before = token_identities({{"contoso", cert_tenant(dir)}});
  CHECK(changed_tenants(before, token_identities({{"contoso", cert_tenant(dir)}})) == kNone);
  dir.write("app.key", "KEY-2");
  CHECK(changed_tenants(before, token_identities({{"contoso", cert_tenant(dir)}})) == kContoso);
  dir.write("app.key", "KEY-1");
  dir.write("app.crt", "CERT-2");
  CHECK(changed_tenants(before, token_identities({{"contoso", cert_tenant(dir)}})) == kContoso);
}

TEST_CASE("a missing certificate file that appears is a change") {
  TempDir dir;
  auto before = token_identities({{"contoso", cert_tenant(dir)}});
  CHECK(changed_tenants(before, token_identities({{"contoso", cert_tenant(dir)}})) == kNone);
  dir.write("app.crt", "CERT");
  dir.write("app.key", "KEY");
  CHECK(changed_tenants(before, token_identities({{"contoso", cert_tenant(dir)}})) == kContoso);
}

TEST_CASE("new tenants are changes, removed ones are not listed, the order is by name") {
  auto a = secret_tenant();
  auto before = token_identities({{"contoso", a}});
  auto after = token_identities({{"zeta", a}, {"contoso", a}, {"alpha", a}});
  CHECK(changed_tenants(before, after) == std::vector<std::string>{"alpha", "zeta"});
  CHECK(changed_tenants(after, before) == kNone);
  CHECK(changed_tenants({}, before) == kContoso);
}
