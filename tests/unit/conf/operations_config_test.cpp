// The operations keys: the admin endpoint and credential expiry dates.
#include "conf_test_support.hpp"

using namespace xr::conf;
using namespace xr::conf::test;

TEST_CASE("admin: listen address for metrics and health") {
  Fixture f;
  auto none = f.load(base_tenant() + base_listener() + base_user());
  REQUIRE(none.config);
  CHECK_FALSE(none.config->admin.has_value());

  auto ok = f.load(base_tenant() + base_listener() + "admin:\n  listen: \"127.0.0.1:9187\"\n" + base_user());
  INFO(all_errors(ok));
  REQUIRE(ok.config);
  REQUIRE(ok.config->admin.has_value());
  CHECK(ok.config->admin->address == "127.0.0.1");
  CHECK(ok.config->admin->port == 9187);
  CHECK(ok.config->admin->listen == "127.0.0.1:9187");
}

TEST_CASE("admin: bad or clashing addresses, missing listen, unknown keys") {
  Fixture f;
  // base_tenant is 5 lines and base_listener 3: admin starts on line 9.
  auto clash = f.load(base_tenant() + base_listener() + "admin:\n  listen: \"127.0.0.1:2525\"\n");
  CHECK(expect_error(clash, "admin.listen", 10, 11) ==
        "`127.0.0.1:2525` is already used by the smtp listener; pick another port");
  auto bad = f.load(base_tenant() + base_listener() + "admin:\n  listen: \"localhost:9187\"\n");
  CHECK(contains(expect_error(bad, "admin.listen", 10, 11), "`localhost:9187`"));
  auto missing = f.load(base_tenant() + base_listener() + "admin: {}\n");
  CHECK(contains(expect_error(missing, "admin.listen", 9, 8), "missing required key `listen`"));
  auto typo = f.load(base_tenant() + base_listener() + "admin:\n  listn: \"127.0.0.1:9187\"\n");
  CHECK(contains(expect_error(typo, "admin.listn", 10, 3), "did you mean `listen`?"));
}

TEST_CASE("client_secret_expires: a date, only beside a secret") {
  Fixture f;
  auto ok = f.load(base_tenant() + "    client_secret_expires: 2027-05-01\n" + base_listener() + base_user());
  INFO(all_errors(ok));
  REQUIRE(ok.config);
  const auto& t = ok.config->tenants.at("contoso");
  REQUIRE(t.client_secret_expires.has_value());
  CHECK(*t.client_secret_expires ==
        std::chrono::sys_days(std::chrono::year(2027) / std::chrono::May / std::chrono::day(1)));

  for (const char* bad : {"2027-02-30", "01.05.2027", "2027-5-1", "tomorrow"}) {
    CAPTURE(bad);
    auto r = f.load(base_tenant() + "    client_secret_expires: \"" + bad + "\"\n" + base_listener());
    CHECK(contains(expect_error(r, "tenants.contoso.client_secret_expires", 6, 28), "write it as YYYY-MM-DD"));
  }

  auto with_cert = f.load(yaml(R"(
tenants:
  contoso:
    tenant_id: contoso.onmicrosoft.com
    client_id: 8a1b2c3d-0000-4000-8000-000000000002
    certificate: {cert_file: tls/relay.crt, key_file: tls/relay.key}
    client_secret_expires: 2027-05-01
)") + base_listener());
  CHECK(contains(expect_error(with_cert, "tenants.contoso.client_secret_expires", 6, 5), "read from cert_file"));
}

TEST_CASE("${CREDENTIALS_DIRECTORY} in a path: systemd's LoadCredential= directory") {
  Fixture f;
  const std::string tenant = "tenants:\n  contoso:\n    tenant_id: 5f3c1a2b-0000-4000-8000-000000000001\n"
                             "    client_id: 8a1b2c3d-0000-4000-8000-000000000002\n"
                             "    client_secret_file: ${CREDENTIALS_DIRECTORY}/contoso.secret\n";
  ::setenv("CREDENTIALS_DIRECTORY", f.abs("secrets").c_str(), 1);
  auto ok = f.load(tenant + base_listener() + base_user());
  INFO(all_errors(ok));
  REQUIRE(ok.config);
  CHECK(*ok.config->tenants.at("contoso").client_secret_file == f.abs("secrets/contoso.secret"));
  CHECK(ok.config->tenants.at("contoso").client_secret.reveal() == kSecret);
  ::unsetenv("CREDENTIALS_DIRECTORY");
  auto outside = f.load(tenant + base_listener());
  CHECK(contains(expect_error(outside, "tenants.contoso.client_secret_file", 5, 25),
                 "set only when systemd starts the relay with LoadCredential="));
}
