// A configuration without a tenant is refused: such a relay could not send a
// single message, and the Debian package's skeleton relay.yaml (comments
// only) must not start one.
#include "conf_test_support.hpp"

using namespace xr::conf;
using namespace xr::conf::test;

TEST_CASE("listeners without any tenant: no tenant is configured") {
  Fixture f;
  auto r = f.load(base_listener());
  REQUIRE(r.errors.size() == 1);
  CHECK_FALSE(r.config.has_value());
  CHECK(r.errors[0].key == "tenants");
  CHECK(contains(r.errors[0].message, "no tenant is configured"));
  CHECK(contains(r.errors[0].message, "xoauth2-relay init"));
}

TEST_CASE("an empty tenants map is no tenant either, reported at the key") {
  Fixture f;
  auto r = f.load("tenants: {}\n" + base_listener());
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].line == 1);
  CHECK(contains(r.errors[0].message, "no tenant is configured"));
}

TEST_CASE("other mistakes come without the no-tenant error") {
  Fixture f;
  // The user's unknown tenant already says that no tenants are defined.
  auto r = f.load(base_listener() + "users:\n  u:\n    password_hash: \"" + kHash +
                  "\"\n    tenant: nowhere\n    mailbox: u@contoso.com\n");
  REQUIRE(r.errors.size() == 1);
  CHECK(contains(r.errors[0].message, "no tenants are defined"));
}

TEST_CASE("one tenant is enough") {
  Fixture f;
  auto r = f.load(base_tenant() + base_listener());
  XR_INFO_ERRORS(r);
  CHECK(r.errors.empty());
}

TEST_CASE("a file of comments only points to init and the example") {
  Fixture f;
  auto r = f.load("# tenants:\n#   contoso: ...\n");
  REQUIRE(r.errors.size() == 1);
  CHECK(contains(r.errors[0].message, "only comments"));
  CHECK(contains(r.errors[0].message, "xoauth2-relay init"));
  CHECK(contains(r.errors[0].message, "/usr/share/doc/xoauth2-relay/examples/relay.yaml"));
}
