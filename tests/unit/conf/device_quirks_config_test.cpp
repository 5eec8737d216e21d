// The keys for device quirks: rewrite_sender on users and no_auth rules, and
// min_tls_version on listeners.
#include "conf_test_support.hpp"

using namespace xr::conf;
using namespace xr::conf::test;

TEST_CASE("rewrite_sender: off unless written; true = envelope; the map adds From and Reply-To") {
  Fixture f;
  auto off = f.load(base_tenant() + base_listener() + base_user());
  REQUIRE(off.config);
  const auto& u0 = off.config->users.at("scanner01").rewrite_sender;
  CHECK_FALSE(u0.envelope);
  CHECK_FALSE(u0.from_header);

  auto on = f.load(base_tenant() + base_listener() + base_user() + "    rewrite_sender: true\n");
  XR_INFO_ERRORS(on);
  REQUIRE(on.config);
  const auto& u1 = on.config->users.at("scanner01").rewrite_sender;
  CHECK(u1.envelope);
  CHECK_FALSE(u1.from_header);
  CHECK_FALSE(u1.reply_to);

  auto full = f.load(base_tenant() + base_listener() + base_user() +
                     "    rewrite_sender: {from_header: true, reply_to: true}\n"
                     "no_auth:\n"
                     "  - sources: [\"192.168.20.0/24\"]\n"
                     "    tenant: contoso\n"
                     "    mailbox: mfp@contoso.com\n"
                     "    rewrite_sender: {from_header: true}\n");
  XR_INFO_ERRORS(full);
  REQUIRE(full.config);
  const auto& u2 = full.config->users.at("scanner01").rewrite_sender;
  CHECK((u2.envelope && u2.from_header && u2.reply_to));
  const auto& r = full.config->no_auth.at(0).rewrite_sender;
  CHECK((r.envelope && r.from_header && !r.reply_to));
}

TEST_CASE("rewrite_sender: mistakes name the place and the fix") {
  Fixture f;
  // base_tenant is 5 lines, base_listener 3, base_user 5: the key is line 14.
  auto yes = f.load(base_tenant() + base_listener() + base_user() + "    rewrite_sender: yes\n");
  CHECK(expect_error(yes, "users.scanner01.rewrite_sender", 14, 21) == "expected true or false, got `yes`");
  auto lone = f.load(base_tenant() + base_listener() + base_user() + "    rewrite_sender: {reply_to: true}\n");
  CHECK(contains(expect_error(lone, "users.scanner01.rewrite_sender.reply_to", 14, 22), "add from_header: true"));
  auto typo = f.load(base_tenant() + base_listener() + base_user() + "    rewrite_sender: {from_headers: true}\n");
  CHECK(contains(expect_error(typo, "users.scanner01.rewrite_sender.from_headers", 14, 22),
                 "did you mean `from_header`?"));
}

TEST_CASE("min_tls_version: 1.2 unless written; only on TLS listeners") {
  Fixture f;
  auto tls = [](const std::string& extra) {
    return "listeners:\n"
           "  - listen: \"127.0.0.1:2465\"\n"
           "    tls: implicit\n"
           "    cert_file: tls/relay.crt\n"
           "    key_file: tls/relay.key\n" + extra;
  };
  auto dflt = f.load(base_tenant() + tls("") + base_user());
  XR_INFO_ERRORS(dflt);
  REQUIRE(dflt.config);
  CHECK(dflt.config->listeners.at(0).min_tls_version == TlsVersion::v1_2);

  auto old = f.load(base_tenant() + tls("    min_tls_version: \"1.0\"\n") + base_user());
  XR_INFO_ERRORS(old);
  REQUIRE(old.config);
  CHECK(old.config->listeners.at(0).min_tls_version == TlsVersion::v1_0);

  auto bad = f.load(base_tenant() + tls("    min_tls_version: \"1.4\"\n"));
  CHECK(contains(expect_error(bad, "listeners[0].min_tls_version", 11, 22), "`1.4`"));
  auto plain = f.load(base_tenant() + base_listener() + "    min_tls_version: \"1.0\"\n");
  CHECK(contains(expect_error(plain, "listeners[0].min_tls_version", 9, 5), "unused with tls: none"));
}
