// check-config runs every check `run` does (issue 15): certificates and keys
// loaded and matched at their YAML key's place, `authority` a bare origin,
// warnings for likely mistakes, and layout errors (tabs, dedented keys)
// named as such.
#include "conf_test_support.hpp"
#include "tests/unit/auth/test_pki.hpp"

using namespace xr::conf;
using namespace xr::conf::test;

namespace {

// A Fixture whose tls/relay.crt and tls/relay.key are a real matching pair,
// plus tls/other.key (not matching); configs go through load_config(path).
class PkiFixture : public Fixture {
 public:
  PkiFixture() {
    EVP_PKEY* k = xr::auth::test::make_key("EC");
    xr::auth::test::write_key(k, abs("tls/relay.key"));
    xr::auth::test::write_self_signed(k, abs("tls/relay.crt"));
    EVP_PKEY_free(k);
    EVP_PKEY* other = xr::auth::test::make_key("EC");
    xr::auth::test::write_key(other, abs("tls/other.key"));
    EVP_PKEY_free(other);
    ::chmod(abs("tls/other.key").c_str(), 0600);
    ::chmod(abs("tls/relay.crt").c_str(), 0644);
  }
  LoadResult load_file(const std::string& text) const {
    write("relay.yaml", text);
    return load_config(config_path());
  }
};

std::string tls_listener(const std::string& cert, const std::string& key) {
  return "listeners:\n"
         "  - listen: \"127.0.0.1:2525\"\n"
         "    tls: starttls\n"
         "    cert_file: " + cert + "\n"
         "    key_file: " + key + "\n";
}

const ConfigError* warning_for(const LoadResult& r, const std::string& key) {
  for (const auto& w : r.warnings)
    if (w.key == key) return &w;
  return nullptr;
}

std::string all_warnings(const LoadResult& r) {
  std::string out;
  for (const auto& w : r.warnings) out += w.format() + "\n";
  return out;
}

}  // namespace

TEST_CASE("setup: a real certificate and key pass load_config") {
  PkiFixture f;
  auto r = f.load_file(base_tenant() + tls_listener("tls/relay.crt", "tls/relay.key"));
  XR_INFO_ERRORS(r);
  CHECK(r.config.has_value());
  CHECK(r.warnings.empty());
}

TEST_CASE("setup: swapped cert_file and key_file are an error at cert_file, not a chmod") {
  PkiFixture f;
  // The certificate (0644) under key_file: "chmod 600" would be the wrong fix.
  auto r = f.load_file(base_tenant() + tls_listener("tls/relay.key", "tls/relay.crt"));
  std::string m = expect_error(r, "listeners[0].cert_file", 9, 16);
  CHECK(contains(m, "cert_file and key_file are swapped"));
  CHECK(contains(m, "write cert_file: " + f.abs("tls/relay.crt") + " and key_file: " + f.abs("tls/relay.key")));
  CHECK(r.errors.size() == 1);
}

TEST_CASE("setup: a key that does not match its certificate is an error at key_file") {
  PkiFixture f;
  auto r = f.load_file(base_tenant() + tls_listener("tls/relay.crt", "tls/other.key"));
  CHECK(contains(expect_error(r, "listeners[0].key_file", 10, 15), "does not belong to the certificate"));
}

TEST_CASE("setup: a garbage PEM is an error at its key") {
  PkiFixture f;
  f.write("tls/garbage.crt", "-----BEGIN CERTIFICATE-----\nnonsense\n-----END CERTIFICATE-----\n");
  auto r = f.load_file(base_tenant() + tls_listener("tls/garbage.crt", "tls/relay.key"));
  CHECK(contains(expect_error(r, "listeners[0].cert_file", 9, 16), "the certificate cannot be read"));
}

TEST_CASE("setup: load_config_from_string leaves PEM contents alone unless asked") {
  PkiFixture f;
  std::string text = base_tenant() + tls_listener("tls/relay.key", "tls/relay.crt");
  // key_file is 0644 here: without the contents check, the mode is what is wrong.
  auto plain = f.load(text);
  CHECK(contains(expect_error(plain, "listeners[0].key_file", 10, 15), "chmod 600"));
  auto checked = load_config_from_string(text, f.config_path(), true);
  CHECK(contains(expect_error(checked, "listeners[0].cert_file", 9, 16), "swapped"));
}

TEST_CASE("setup: a tenant certificate must be RSA and match its key") {
  PkiFixture f;
  std::string head = "tenants:\n  contoso:\n    tenant_id: 5f3c1a2b-0000-4000-8000-000000000001\n"
                     "    client_id: 8a1b2c3d-0000-4000-8000-000000000002\n"
                     "    certificate:\n      cert_file: tls/relay.crt\n      key_file: tls/relay.key\n";
  auto r = f.load_file(head + base_listener());
  CHECK(contains(expect_error(r, "tenants.contoso.certificate.key_file", 7, 17),
                 "is an EC key; Entra ID client assertions need RSA"));
}

TEST_CASE("setup: an expired listener certificate is a warning; the config still loads") {
  PkiFixture f;
  EVP_PKEY* k = xr::auth::test::make_key("EC");
  X509* x = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
  X509_gmtime_adj(X509_getm_notBefore(x), -7200);
  X509_gmtime_adj(X509_getm_notAfter(x), -3600);
  X509_set_pubkey(x, k);
  X509_set_issuer_name(x, X509_get_subject_name(x));
  X509_sign(x, k, EVP_sha256());
  FILE* out = std::fopen(f.abs("tls/old.crt").c_str(), "wb");
  PEM_write_X509(out, x);
  std::fclose(out);
  X509_free(x);
  xr::auth::test::write_key(k, f.abs("tls/old.key"));
  ::chmod(f.abs("tls/old.key").c_str(), 0600);
  EVP_PKEY_free(k);
  auto r = f.load_file(base_tenant() + tls_listener("tls/old.crt", "tls/old.key"));
  XR_INFO_ERRORS(r);
  REQUIRE(r.config.has_value());
  const ConfigError* w = warning_for(r, "listeners[0].cert_file");
  REQUIRE(w != nullptr);
  CHECK(w->line == 9);
  CHECK(contains(w->message, "expired on"));
  CHECK(contains(w->message, "devices refuse it"));
}

TEST_CASE("setup: authority must be a bare origin; the fix shows the right value") {
  Fixture f;
  std::string tenant = base_tenant();
  SUBCASE("the tenant ID in the path") {
    auto r = f.load(tenant + "    authority: https://login.microsoftonline.com/5f3c1a2b-0000-4000-8000-000000000001\n" +
                    base_listener());
    std::string m = expect_error(r, "tenants.contoso.authority", 6, 16);
    CHECK(contains(m, "holds the tenant ID in its path"));
    CHECK(contains(m, "write authority: https://login.microsoftonline.com"));
    CHECK_FALSE(contains(m, "write authority: https://login.microsoftonline.com/"));
  }
  SUBCASE("the whole token URL") {
    auto r = f.load(tenant + "    authority: https://login.microsoftonline.us/contoso.com/oauth2/v2.0/token\n" +
                    base_listener());
    std::string m = expect_error(r, "tenants.contoso.authority", 6, 16);
    CHECK(contains(m, "write authority: https://login.microsoftonline.us"));
  }
  SUBCASE("another path") {
    auto r = f.load(tenant + "    authority: \"https://127.0.0.1:8443/common\"\n" + base_listener());
    CHECK(contains(expect_error(r, "tenants.contoso.authority", 6, 16),
                   "has a path (/common); authority is only the sign-in origin"));
  }
  SUBCASE("an origin, with or without a port or a trailing slash, is fine") {
    for (const char* ok : {"https://login.microsoftonline.com", "https://login.microsoftonline.com/",
                           "https://127.0.0.1:8443"}) {
      auto r = f.load(tenant + "    authority: \"" + ok + "\"\n" + base_listener());
      XR_INFO_ERRORS(r);
      CHECK(r.config.has_value());
    }
  }
}

TEST_CASE("setup: a plain listener without allow_plaintext_auth is a warning") {
  Fixture f;
  auto r = f.load(base_tenant() + base_listener());
  REQUIRE(r.config.has_value());
  const ConfigError* w = warning_for(r, "listeners[0].tls");
  INFO(all_warnings(r));
  REQUIRE(w != nullptr);
  CHECK(w->line == 8);
  CHECK(contains(w->message, "offers devices no AUTH"));
  CHECK(contains(w->message, "allow_plaintext_auth: true"));
  for (const char* v : {"true", "false"}) {
    auto said = f.load(base_tenant() + base_listener() + "    allow_plaintext_auth: " + v + "\n");
    INFO(all_warnings(said));
    CHECK(said.warnings.empty());
  }
}

TEST_CASE("setup: a secret that looks like the Secret ID is a warning that never shows the secret") {
  Fixture f;
  const std::string guid = "0b7a61f4-1c2d-4e5f-8a9b-0c1d2e3f4a5b";
  f.write("secrets/contoso.secret", guid + "\n");
  auto r = f.load(base_tenant() + base_listener() + "    allow_plaintext_auth: true\n");
  REQUIRE(r.config.has_value());
  const ConfigError* w = warning_for(r, "tenants.contoso.client_secret_file");
  INFO(all_warnings(r));
  REQUIRE(w != nullptr);
  CHECK(w->line == 5);
  CHECK(contains(w->message, "that is the secret's Secret ID, not its Value"));
  CHECK_FALSE(contains(all_warnings(r), guid));
}

TEST_CASE("setup: a secret ending in white space is a warning; one final newline is not") {
  Fixture f;
  std::string text = base_tenant() + base_listener() + "    allow_plaintext_auth: true\n";
  for (const char* tail : {" ", "\t\n", "\n\n", "\r\n\r\n", "  \n"}) {
    f.write("secrets/contoso.secret", kSecret + tail);
    auto r = f.load(text);
    INFO(all_warnings(r));
    REQUIRE(r.config.has_value());
    const ConfigError* w = warning_for(r, "tenants.contoso.client_secret_file");
    REQUIRE(w != nullptr);
    CHECK(contains(w->message, "ends in white space"));
    CHECK_FALSE(contains(all_warnings(r), kSecret));
  }
  for (const char* tail : {"", "\n", "\r\n"}) {
    f.write("secrets/contoso.secret", kSecret + tail);
    auto r = f.load(text);
    INFO(all_warnings(r));
    CHECK(r.warnings.empty());
  }
}

TEST_CASE("setup: a tab in the indentation is named, at its line and column") {
  Fixture f;
  auto r = f.load("tenants:\n  contoso:\n\ttenant_id: 5f3c1a2b-0000-4000-8000-000000000001\n" + base_listener());
  XR_INFO_ERRORS(r);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].line == 3);
  CHECK(r.errors[0].column == 1);
  CHECK(contains(r.errors[0].message, "a tab; YAML indents with spaces only"));
  CHECK_FALSE(contains(r.errors[0].message, "end of map not found"));
  auto later = f.load("tenants:\n  contoso:\n    tenant_id: x\n  \t client_id: y\n");
  REQUIRE(later.errors.size() == 1);
  CHECK(later.errors[0].line == 4);
  CHECK(later.errors[0].column == 3);
}

TEST_CASE("setup: a key between two indentation levels is reported at its own line") {
  Fixture f;
  auto r = f.load(yaml(R"(
tenants:
  contoso:
    tenant_id: 5f3c1a2b-0000-4000-8000-000000000001
    client_id: 8a1b2c3d-0000-4000-8000-000000000002
   client_secret_file: secrets/contoso.secret
listeners: []
)"));
  XR_INFO_ERRORS(r);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].line == 5);
  CHECK(r.errors[0].column == 4);
  CHECK(contains(r.errors[0].message,
                 "`client_secret_file` is indented less than its siblings (3 spaces, they have 4); did you mean to "
                 "put it under `contoso`?"));
}

TEST_CASE("setup: a key dedented to a valid level is reported at its line, not as an unknown key") {
  Fixture f;
  SUBCASE("to the top level") {
    auto r = f.load(base_tenant() + yaml(R"(
listeners:
  - listen: "127.0.0.1:2525"
    tls: none
allow_plaintext_auth: true
)"));
    std::string m = expect_error(r, "allow_plaintext_auth", 9, 1);
    CHECK(contains(m, "`allow_plaintext_auth` is indented less than its siblings (column 5); did you mean to put "
                      "it under `listeners[0]`?"));
    CHECK_FALSE(contains(m, "unknown key"));
  }
  SUBCASE("to the level of the tenants' names") {
    auto r = f.load(yaml(R"(
tenants:
  contoso:
    tenant_id: 5f3c1a2b-0000-4000-8000-000000000001
    client_id: 8a1b2c3d-0000-4000-8000-000000000002
    smtp:
      port: 587
  client_secret_file: secrets/contoso.secret
)") + base_listener());
    XR_INFO_ERRORS(r);
    const ConfigError* e = error_for(r, "tenants.client_secret_file");
    REQUIRE(e != nullptr);
    CHECK(e->line == 7);
    CHECK(contains(e->message, "did you mean to put it under `tenants.contoso`?"));
  }
  SUBCASE("an unknown key that no mapping above takes keeps its did-you-mean") {
    auto r = f.load(base_tenant() + base_listener() + "lisenters: []\n");
    CHECK(contains(expect_error(r, "lisenters", 9, 1), "did you mean `listeners`?"));
  }
}
