// `xoauth2-relay init`'s pure parts: the generated relay.yaml loads with the
// project's own loader and holds exactly what was typed (quotes, colons and
// all), the PowerShell names every ID, the input checks, and the self-signed
// listener certificate.
#include "conf/config.hpp"
#include "relay/cli/init_template.hpp"
#include "relay/cli/self_signed_cert.hpp"
#include "tests/unit/temp_dir.hpp"

#include <doctest/doctest.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <yaml-cpp/yaml.h>

#include <string>

using namespace xr::relay::cli;
using xr::test::TempDir;

namespace {

// A yescrypt hash of "change-me" (the example config's).
const std::string kHash = "$y$j9T$GU15flNw9WimW3d3kPPrI1$BSC.Vt3lI7R5hAfagB9XyhKAQcJjhxNUM8Y6NJMDso5";

// A directory with the files init writes beside the config.
struct InitDir : TempDir {
  InitDir() {
    auto made = make_self_signed("relay.test", {"relay.test"}, {});
    write("secrets/contoso.secret", "s3cret~value\n");
    write("tls/relay.crt", made.cert_pem);
    write("tls/relay.key", made.key_pem.reveal());
  }
  std::string config() const { return abs("relay.yaml"); }
};

InitValues values(const InitDir& d) {
  InitValues v;
  v.tenant_name = "contoso";
  v.tenant_id = "5f3c1a2b-0000-4000-8000-000000000001";
  v.client_id = "8a1b2c3d-0000-4000-8000-000000000002";
  v.user = "scanner01";
  v.password_hash = kHash;
  v.mailbox = "scanner@contoso.com";
  v.config_path = d.config();
  return v;
}

std::string errors(const xr::conf::LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.format() + "\n";
  return out;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("init: the generated config loads and validates with the defaults") {
  InitDir d;
  auto v = values(d);
  auto r = xr::conf::load_config_from_string(render_config(v), d.config());
  REQUIRE_MESSAGE(r.config, errors(r));
  const auto& c = *r.config;
  REQUIRE(c.tenants.count("contoso") == 1);
  const auto& t = c.tenants.at("contoso");
  CHECK(t.tenant_id == v.tenant_id);
  CHECK(t.client_id == v.client_id);
  CHECK(t.client_secret_file == d.abs("secrets/contoso.secret"));
  CHECK(t.client_secret.reveal() == "s3cret~value");
  CHECK(t.authority == "https://login.microsoftonline.com");
  CHECK(t.smtp.host == "smtp.office365.com");
  CHECK(t.smtp.port == 587);
  CHECK(t.smtp.tls == xr::conf::TlsMode::starttls);
  CHECK_FALSE(t.ca_file);
  REQUIRE(c.listeners.size() == 1);
  CHECK(c.listeners[0].protocol == xr::conf::Protocol::smtp);
  CHECK(c.listeners[0].listen == "0.0.0.0:587");
  CHECK(c.listeners[0].tls == xr::conf::TlsMode::starttls);
  CHECK(c.listeners[0].cert_file == d.abs("tls/relay.crt"));
  CHECK(c.listeners[0].key_file == d.abs("tls/relay.key"));
  CHECK_FALSE(c.listeners[0].allow_plaintext_auth);
  REQUIRE(c.users.count("scanner01") == 1);
  const auto& u = c.users.at("scanner01");
  CHECK(u.password_hash == kHash);
  CHECK(u.tenant == "contoso");
  CHECK(u.mailbox == "scanner@contoso.com");
  CHECK(u.protocols == std::vector<xr::conf::Protocol>{xr::conf::Protocol::smtp});
  CHECK(c.run_as_user == "xoauth2-relay");
  CHECK_FALSE(c.admin);
  CHECK_FALSE(c.spool);
}

TEST_CASE("init: national cloud, another SMTP host, port 465 and a CA file reach the config") {
  InitDir d;
  auto ca = d.write("ca.pem", make_self_signed("ca", {}, {}).cert_pem);
  auto v = values(d);
  v.authority = "https://login.microsoftonline.us";
  v.smtp_host = "smtp.office365.us";
  v.smtp_port = 465;
  v.ca_file = ca;
  v.listen = "[::1]:2525";
  auto r = xr::conf::load_config_from_string(render_config(v), d.config());
  REQUIRE_MESSAGE(r.config, errors(r));
  const auto& t = r.config->tenants.at("contoso");
  CHECK(t.authority == "https://login.microsoftonline.us");
  CHECK(t.smtp.host == "smtp.office365.us");
  CHECK(t.smtp.port == 465);
  CHECK(t.smtp.tls == xr::conf::TlsMode::implicit);
  CHECK(t.ca_file == ca);
  CHECK(r.config->listeners[0].address == "::1");
  CHECK(r.config->listeners[0].port == 2525);
}

TEST_CASE("init: values with quotes, colons, '#', '$' and backslashes are written safely") {
  InitDir d;
  auto v = values(d);
  v.user = R"(dev:"01" #lobby\x $HOME 'q' - [a]: {b})";
  v.mailbox = "o'brien+scan@contoso.com";
  auto yaml = render_config(v);
  auto r = xr::conf::load_config_from_string(yaml, d.config());
  const std::string why = errors(r) + yaml;
  REQUIRE_MESSAGE(r.config, why);
  REQUIRE(r.config->users.count(v.user) == 1);
  CHECK(r.config->users.at(v.user).mailbox == v.mailbox);
  CHECK(r.config->users.at(v.user).password_hash == kHash);  // '$' kept, nothing expanded
}

TEST_CASE("init: yaml_quote round-trips through the YAML parser") {
  for (std::string s : {"plain", "", "a: b", "#x", "x #y", "\"q\"", "back\\slash", "  lead", "trail  ", "null", "~",
                        "true", "no", "- item", "[1]", "{a: b}", "*ref", "&anchor", "!tag", "%YAML", "@at", "`tick",
                        "tab\there", "line\nbreak", "bell\x07", "del\x7f", "caf\xc3\xa9", "'single'", "$y$j9T$x",
                        "123", "0x10", "1e3", ":", "?"}) {
    CAPTURE(s);
    YAML::Node n = YAML::Load("k: " + yaml_quote(s));
    CHECK(n["k"].as<std::string>() == s);
  }
}

TEST_CASE("init: names are plain only when YAML reads them back as the same string") {
  CHECK(yaml_key("scanner01") == "scanner01");
  CHECK(yaml_key("contoso") == "contoso");
  CHECK(yaml_key("fab-rikam.eu") == "fab-rikam.eu");
  for (std::string s : {"true", "No", "ON", "y", "null", "01", "a b", "dev:1", "#x", "", "-x", "~"}) {
    CAPTURE(s);
    CHECK(yaml_key(s) == yaml_quote(s));
    YAML::Node n = YAML::Load(yaml_key(s) + ": 1");
    CHECK(n.begin()->first.as<std::string>() == s);
  }
}

TEST_CASE("init: a user called `true` or `no` stays that name") {
  InitDir d;
  for (const char* name : {"true", "no", "null", "007"}) {
    CAPTURE(name);
    auto v = values(d);
    v.user = name;
    auto r = xr::conf::load_config_from_string(render_config(v), d.config());
    REQUIRE_MESSAGE(r.config, errors(r));
    CHECK(r.config->users.count(name) == 1);
  }
}

TEST_CASE("init: every key of the generated config has a comment saying what it is") {
  InitDir d;
  auto yaml = render_config(values(d));
  for (const char* part : {"Entra admin center > Overview > Tenant ID", "App registrations > your app > Overview",
                           "Certificates & secrets", "not its Secret ID", "self-signed", "hash-password",
                           "check-config --config "}) {
    CAPTURE(part);
    CHECK(contains(yaml, part));
  }
  CHECK(contains(yaml, d.config()));
}

TEST_CASE("init: the PowerShell has every ID filled in and the right identities") {
  InitDir d;
  auto v = values(d);
  auto ps = render_powershell(v);
  CAPTURE(ps);
  CHECK(contains(ps, "Install-Module -Name ExchangeOnlineManagement"));
  CHECK(contains(ps, "\nConnect-ExchangeOnline\n"));
  CHECK(contains(ps, "New-ServicePrincipal -AppId '8a1b2c3d-0000-4000-8000-000000000002' -ObjectId $ObjectId"));
  CHECK(contains(ps, "Enterprise applications > All applications > search 8a1b2c3d-0000-4000-8000-000000000002"));
  CHECK(contains(ps, "NOT the Object ID on the App registration"));
  CHECK(contains(ps, "$ObjectId = '<enterprise-application-object-id>'"));
  CHECK(contains(ps, "Add-MailboxPermission -Identity 'scanner@contoso.com' -User $ObjectId -AccessRights FullAccess"));
  CHECK(contains(ps, "Add-RecipientPermission -Identity 'other@example.com' -Trustee $ObjectId -AccessRights SendAs"));
  CHECK(contains(ps, "Set-CASMailbox -Identity 'scanner@contoso.com' -SmtpClientAuthenticationDisabled $false"));
  CHECK(contains(ps, "Set-TransportConfig -SmtpClientAuthenticationDisabled $false"));
  CHECK(contains(ps, "SMTP.SendAsApp"));
  CHECK(contains(ps, "5f3c1a2b-0000-4000-8000-000000000001"));
  CHECK(contains(ps, "TCP 443 to\n# login.microsoftonline.com and 587 to smtp.office365.com"));
  // Nothing of the secret or the password hash.
  CHECK_FALSE(contains(ps, "$y$"));
  CHECK_FALSE(contains(ps, "secret.value"));
}

TEST_CASE("init: PowerShell quoting and national clouds") {
  InitDir d;
  auto v = values(d);
  v.mailbox = "o'brien@contoso.com";
  v.authority = "https://login.microsoftonline.us";
  auto ps = render_powershell(v);
  CHECK(contains(ps, "Set-CASMailbox -Identity 'o''brien@contoso.com'"));
  CHECK(contains(ps, "Connect-ExchangeOnline -ExchangeEnvironmentName O365USGovGCCHigh"));
  v.authority = "https://login.partner.microsoftonline.cn";
  CHECK(contains(render_powershell(v), "Connect-ExchangeOnline -ExchangeEnvironmentName O365China"));
}

TEST_CASE("init: input checks") {
  CHECK_FALSE(check_tenant_id("5f3c1a2b-0000-4000-8000-000000000001"));
  CHECK_FALSE(check_tenant_id("contoso.onmicrosoft.com"));
  CHECK(check_tenant_id("contoso"));
  CHECK(check_tenant_id("5f3c1a2b 0000"));
  CHECK_FALSE(check_client_id("8a1b2c3d-0000-4000-8000-000000000002"));
  CHECK(check_client_id("contoso.onmicrosoft.com"));
  CHECK_FALSE(check_mailbox("scanner@contoso.com"));
  CHECK(check_mailbox("scanner"));
  CHECK_FALSE(check_listen("127.0.0.1:2525"));
  CHECK(check_listen("relay.local:587"));
  CHECK_FALSE(check_authority("https://login.microsoftonline.com"));
  CHECK_FALSE(check_authority("https://login.microsoftonline.com/"));
  CHECK_FALSE(check_authority("https://127.0.0.1:8443"));
  CHECK(check_authority("http://login.microsoftonline.com"));
  REQUIRE(check_authority("https://login.microsoftonline.com/5f3c1a2b-0000-4000-8000-000000000001"));
  CHECK(contains(*check_authority("https://login.microsoftonline.com/x"), "origin only"));
  CHECK_FALSE(check_user_name("scanner01"));
  CHECK(check_user_name("two words"));
  CHECK(check_user_name(""));
  CHECK_FALSE(check_tenant_name("contoso"));
  CHECK(check_tenant_name("../etc"));
  CHECK(check_tenant_name("a/b"));
  CHECK(check_secret(""));
  CHECK(check_secret("two\nlines"));
  CHECK_FALSE(check_secret("abc~DEF.123"));
  REQUIRE(secret_warning("4b1c2d3e-0000-4000-8000-000000000009"));
  CHECK(contains(*secret_warning("4b1c2d3e-0000-4000-8000-000000000009"), "Secret ID"));
  CHECK(secret_warning("abc~DEF.123 "));
  CHECK_FALSE(secret_warning("abc~DEF.123"));
}

TEST_CASE("init: --smtp-host and the tenant's name") {
  std::string why;
  auto hp = parse_host_port("smtp.office365.com:587", &why);
  REQUIRE(hp);
  CHECK(hp->host == "smtp.office365.com");
  CHECK(hp->port == 587);
  hp = parse_host_port("127.0.0.1", &why);
  REQUIRE(hp);
  CHECK(hp->port == 587);
  hp = parse_host_port("[::1]:2525", &why);
  REQUIRE(hp);
  CHECK(hp->host == "::1");
  CHECK(hp->port == 2525);
  CHECK_FALSE(parse_host_port("host:0", &why));
  CHECK_FALSE(parse_host_port("host:", &why));
  CHECK_FALSE(parse_host_port(":25", &why));
  CHECK_FALSE(parse_host_port("::1:25", &why));
  CHECK_FALSE(parse_host_port("a b:25", &why));
  CHECK(contains(why, "HOST:PORT"));
  CHECK(tenant_name_for("scanner@Contoso.com") == "contoso");
  CHECK(tenant_name_for("x@fab-rikam.co.uk") == "fab-rikam");
  CHECK(tenant_name_for("nobody") == "office365");
}

TEST_CASE("init: the self-signed listener certificate matches its key and names the host") {
  auto made = make_self_signed("relay.test", {"relay.test", "localhost"}, {"192.0.2.7", "::1"});
  BIO* cb = BIO_new_mem_buf(made.cert_pem.data(), int(made.cert_pem.size()));
  X509* x = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
  BIO_free(cb);
  REQUIRE(x);
  BIO* kb = BIO_new_mem_buf(made.key_pem.reveal().data(), int(made.key_pem.reveal().size()));
  EVP_PKEY* k = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
  BIO_free(kb);
  REQUIRE(k);
  CHECK(X509_check_private_key(x, k) == 1);
  CHECK(X509_check_host(x, "relay.test", 0, 0, nullptr) == 1);
  CHECK(X509_check_host(x, "localhost", 0, 0, nullptr) == 1);
  CHECK(X509_check_ip_asc(x, "192.0.2.7", 0) == 1);
  CHECK(X509_check_ip_asc(x, "::1", 0) == 1);
  CHECK(X509_check_host(x, "other.test", 0, 0, nullptr) == 0);
  CHECK(X509_check_purpose(x, X509_PURPOSE_SSL_SERVER, 0) == 1);
  CHECK(X509_check_ca(x) == 0);
  // Valid now, and for years.
  CHECK(X509_cmp_current_time(X509_get0_notBefore(x)) < 0);
  time_t in_nine_years = time(nullptr) + 9L * 365 * 86400;
  CHECK(X509_cmp_time(X509_get0_notAfter(x), &in_nine_years) > 0);
  CHECK(made.fingerprint.size() == 32 * 3 - 1);
  CHECK(made.not_after.size() == 10);
  // Two runs never make the same key or serial.
  auto other = make_self_signed("relay.test", {"relay.test"}, {});
  CHECK(other.fingerprint != made.fingerprint);
  CHECK_FALSE(other.key_pem == made.key_pem);
  EVP_PKEY_free(k);
  X509_free(x);
}
