// conf/relay.example.yaml is what README and `cmake --install` ship: it must
// load cleanly once the files it names exist.
#include "conf_test_support.hpp"
#include "tests/unit/auth/test_pki.hpp"

#include <fstream>
#include <sstream>

using namespace xr::conf;
using namespace xr::conf::test;

TEST_CASE("the annotated example config loads without errors") {
  // Lexically: tests/data need not exist.
  auto source_dir = std::filesystem::path(XR_TEST_DATA_DIR).parent_path().parent_path();
  std::ifstream in(source_dir / "conf" / "relay.example.yaml");
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();

  TempDir d;
  d.write("secrets/contoso.secret", "example-secret\n");
  // load_config loads and matches the certificate and key as `run` does.
  d.write("tls/relay.key", "");
  EVP_PKEY* key = xr::auth::test::make_key("EC");
  xr::auth::test::write_key(key, d.abs("tls/relay.key"));
  xr::auth::test::write_self_signed(key, d.abs("tls/relay.crt"));
  EVP_PKEY_free(key);
  d.write("relay.yaml", text.str());
  auto r = load_config(d.abs("relay.yaml"));
  XR_INFO_ERRORS(r);
  REQUIRE(r.errors.empty());
  REQUIRE(r.config.has_value());
  const Config& c = *r.config;
  CHECK(c.hostname == "relay.contoso.local");
  CHECK(c.tenants.at("contoso").client_secret.reveal() == "example-secret");
  REQUIRE(c.listeners.size() == 5);
  CHECK(c.listeners[2].protocol == Protocol::imap);
  CHECK(c.listeners[4].protocol == Protocol::pop3);
  CHECK(c.users.at("scanner01").password_hash.rfind("$y$", 0) == 0);
  CHECK(c.no_auth.size() == 1);
  CHECK(c.limits.max_message_size == 35u * 1024 * 1024);
  REQUIRE(c.admin.has_value());
  CHECK(c.admin->listen == "127.0.0.1:9187");
  CHECK(c.tenants.at("contoso").client_secret_expires.has_value());
  CHECK(c.tenants.at("contoso").smtp.max_messages_per_minute == 30);
  CHECK(c.users.at("scanner01").delivery == Delivery::direct);
  CHECK(c.users.at("scanner02").delivery == Delivery::spool);
  // The example shows the defaults: loading it must give what no section gives.
  REQUIRE(c.spool.has_value());
  const Spool defaults;
  CHECK(c.spool->dir == defaults.dir);
  CHECK(c.spool->max_size == defaults.max_size);
  CHECK(c.spool->min_free == defaults.min_free);
  CHECK(c.spool->max_age == defaults.max_age);
  CHECK(c.spool->retry_schedule == defaults.retry_schedule);
  CHECK_FALSE(c.spool->bounce_to.has_value());
}
