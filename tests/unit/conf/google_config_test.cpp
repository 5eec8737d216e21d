// `provider: google` tenants: the service account key file (read and checked
// at every load), Google's defaults, and Microsoft's keys refused with a fix.
#include "tests/unit/auth/google_test_key.hpp"
#include "tests/unit/conf/conf_test_support.hpp"

#include <sys/stat.h>

using namespace xr::conf;
using namespace xr::conf::test;

namespace {

std::string google_tenant(const std::string& extra = "") {
  return "tenants:\n"
         "  acme:\n"
         "    provider: google\n"
         "    service_account_file: secrets/acme-sa.json\n" +
         extra;
}

std::string google_user() {
  return "users:\n"
         "  scanner01:\n"
         "    password_hash: \"" + kHash + "\"\n"
         "    tenant: acme\n"
         "    mailbox: scan@acme.com\n";
}

struct GoogleFixture : Fixture {
  GoogleFixture() { write("secrets/acme-sa.json", xr::test::google_key_json()); }
};

}  // namespace

TEST_CASE("a Google tenant: the key file's fields, Google's scope and endpoints") {
  GoogleFixture f;
  auto r = f.load(google_tenant() + base_listener() + google_user());
  XR_INFO_ERRORS(r);
  REQUIRE(r.config.has_value());
  const Tenant& t = r.config->tenants.at("acme");
  CHECK(t.provider == Provider::google);
  CHECK(t.service_account_file == f.abs("secrets/acme-sa.json"));
  REQUIRE(t.service_account.has_value());
  CHECK(t.service_account->client_email == xr::test::kGoogleClientEmail);
  CHECK(t.service_account->client_id == xr::test::kGoogleClientId);
  CHECK(t.service_account->private_key_id == xr::test::kGoogleKeyId);
  CHECK(t.service_account->token_uri == "https://oauth2.googleapis.com/token");
  CHECK(t.service_account->private_key.reveal() == xr::test::google_test_key_pem());
  CHECK(t.token_url() == "https://oauth2.googleapis.com/token");
  CHECK(t.scope == "https://mail.google.com/");
  CHECK(t.smtp.host == "smtp.gmail.com");
  CHECK(t.smtp.port == 587);
  CHECK(t.smtp.tls == TlsMode::starttls);
  CHECK(t.imap.host == "imap.gmail.com");
  CHECK(t.imap.port == 993);
  CHECK(t.imap.tls == TlsMode::implicit);
  CHECK(t.pop3.host == "pop.gmail.com");
  CHECK(t.pop3.port == 995);
  CHECK(t.pop3.tls == TlsMode::implicit);
}

TEST_CASE("a Google tenant's written endpoints and token_uri override the defaults") {
  GoogleFixture f;
  f.write("secrets/acme-sa.json", xr::test::google_key_json(xr::test::google_test_key_pem(), "https://127.0.0.1:9443/token"));
  auto r = f.load(google_tenant("    smtp: {host: 127.0.0.1, port: 2587}\n"
                                "    imap: {host: 127.0.0.1, port: 2993, tls: implicit}\n") +
                  base_listener() + google_user());
  XR_INFO_ERRORS(r);
  REQUIRE(r.config.has_value());
  const Tenant& t = r.config->tenants.at("acme");
  CHECK(t.smtp.host == "127.0.0.1");
  CHECK(t.smtp.port == 2587);
  CHECK(t.smtp.tls == TlsMode::starttls);
  CHECK(t.imap.port == 2993);
  CHECK(t.pop3.host == "pop.gmail.com");
  CHECK(t.token_url() == "https://127.0.0.1:9443/token");
}

TEST_CASE("a key file without token_uri uses Google's") {
  GoogleFixture f;
  f.write("secrets/acme-sa.json", xr::test::google_key_json(xr::test::google_test_key_pem(), ""));
  auto r = f.load(google_tenant() + base_listener());
  XR_INFO_ERRORS(r);
  REQUIRE(r.config.has_value());
  CHECK(r.config->tenants.at("acme").token_url() == "https://oauth2.googleapis.com/token");
}

TEST_CASE("a Google tenant needs service_account_file") {
  Fixture f;
  auto r = f.load("tenants:\n  acme:\n    provider: google\n" + base_listener());
  CHECK(contains(expect_error(r, "tenants.acme.service_account_file", 3, 5), "JSON key"));
}

TEST_CASE("Microsoft's keys are refused for a Google tenant, each with what replaces it") {
  GoogleFixture f;
  auto r = f.load(google_tenant("    tenant_id: 5f3c1a2b-0000-4000-8000-000000000001\n"
                                "    client_id: 8a1b2c3d-0000-4000-8000-000000000002\n"
                                "    client_secret_file: secrets/contoso.secret\n"
                                "    authority: https://login.microsoftonline.com\n") +
                  base_listener());
  CHECK(contains(expect_error(r, "tenants.acme.tenant_id", 5, 5), "remove tenant_id"));
  CHECK(contains(expect_error(r, "tenants.acme.client_id", 6, 5), "comes from service_account_file"));
  CHECK(contains(expect_error(r, "tenants.acme.client_secret_file", 7, 5), "provider: google"));
  CHECK(contains(expect_error(r, "tenants.acme.authority", 8, 5), "token_uri"));
}

TEST_CASE("service_account_file is refused for a Microsoft tenant") {
  GoogleFixture f;
  auto r = f.load(base_tenant() + "    service_account_file: secrets/acme-sa.json\n" + base_listener());
  CHECK(contains(expect_error(r, "tenants.contoso.service_account_file", 6, 5), "add provider: google"));
}

TEST_CASE("Graph is refused for a Google tenant") {
  GoogleFixture f;
  auto r = f.load(google_tenant("    smtp: {via: graph}\n") + base_listener());
  XR_INFO_ERRORS(r);
  CHECK_FALSE(r.config.has_value());
  CHECK(error_for(r, "tenants.acme.smtp.via") != nullptr);
}

TEST_CASE("an unknown provider is refused with the choices") {
  GoogleFixture f;
  auto r = f.load(google_tenant().replace(google_tenant().find("google"), 6, "gmail") + base_listener());
  CHECK(contains(expect_error(r, "tenants.acme.provider", 3, 15), "google"));
}

TEST_CASE("a key file open to others is refused with the chmod, like a client secret") {
  GoogleFixture f;
  const std::string path = f.abs("secrets/acme-sa.json");
  ::chmod(path.c_str(), 0644);
  auto r = f.load(google_tenant() + base_listener());
  CHECK(expect_error(r, "tenants.acme.service_account_file", 4, 27) ==
        "`" + path + "` is readable by others (mode 0644); run: chmod 600 " + path);
}

TEST_CASE("a key file that is not a service account key says what to download, never showing the key") {
  GoogleFixture f;
  const std::string pem = xr::test::google_test_key_pem();
  const std::string body = pem.substr(pem.find('\n') + 1, 40);  // a piece of the key material
  struct Case {
    std::string json;
    std::string says;
  };
  const Case cases[] = {
      {"{ not json", "not valid JSON"},
      {"[1, 2]", "not a JSON object"},
      {R"({"installed": {"client_id": "x.apps.googleusercontent.com"}})", "OAuth client ID file"},
      {R"({"type": "authorized_user", "client_id": "x"})", "type `authorized_user`"},
      {R"({"type": "service_account", "client_email": "a@b.iam.gserviceaccount.com"})",
       "lacks client_id, private_key_id, private_key"},
      {xr::test::google_key_json("-----BEGIN PRIVATE KEY-----\n" + body + "\n-----END PRIVATE KEY-----\n"),
       "private_key: the private key cannot be read"},
      {xr::test::google_key_json(pem, "http://oauth2.googleapis.com/token"), "not an https:// URL"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.says);
    f.write("secrets/acme-sa.json", c.json);
    auto r = f.load(google_tenant() + base_listener());
    auto msg = expect_error(r, "tenants.acme.service_account_file", 4, 27);
    CHECK(contains(msg, c.says));
    CHECK_FALSE(contains(all_errors(r), body));
    CHECK_FALSE(contains(all_errors(r), "PRIVATE KEY-----"));
  }
}

TEST_CASE("a non-RSA key in the key file is refused") {
  GoogleFixture f;
  EVP_PKEY* ec = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  REQUIRE(ec != nullptr);
  f.write("secrets/acme-sa.json", xr::test::google_key_json(xr::test::pem_of(ec)));
  EVP_PKEY_free(ec);
  auto r = f.load(google_tenant() + base_listener());
  CHECK(contains(expect_error(r, "tenants.acme.service_account_file", 4, 27), "an EC key"));
}

TEST_CASE("a Google scope other than a URL is refused; the default is Gmail's") {
  GoogleFixture f;
  auto r = f.load(google_tenant("    scope: https://outlook.office365.com/.default-but-no\n") + base_listener());
  REQUIRE(r.config.has_value());  // a URL is taken as written
  auto bad = f.load(google_tenant("    scope: mail\n") + base_listener());
  CHECK(contains(expect_error(bad, "tenants.acme.scope", 5, 12), "https://mail.google.com/"));
}

TEST_CASE("a Google tenant beside a Microsoft tenant") {
  GoogleFixture f;
  auto r = f.load(base_tenant() + google_tenant().substr(std::string("tenants:\n").size()) + base_listener() +
                  google_user());
  XR_INFO_ERRORS(r);
  REQUIRE(r.config.has_value());
  CHECK(r.config->tenants.at("contoso").provider == Provider::microsoft);
  CHECK(r.config->tenants.at("contoso").imap.host == "outlook.office365.com");
  CHECK(r.config->tenants.at("acme").provider == Provider::google);
}
