// What a valid config loads into: defaults, paths, secrets, limits.
#include "conf_test_support.hpp"

#include <unistd.h>

using namespace std::chrono_literals;
using namespace xr::conf;
using namespace xr::conf::test;

namespace {

Config load_ok(const Fixture& f, const std::string& text) {
  auto r = f.load(text);
  XR_INFO_ERRORS(r);
  REQUIRE(r.errors.empty());
  REQUIRE(r.config.has_value());
  return *r.config;
}

}  // namespace

TEST_CASE("a minimal config gets every default") {
  Fixture f;
  Config c = load_ok(f, base_tenant() + base_listener() + base_user() +
                            "no_auth:\n  - sources: [192.168.20.5]\n    tenant: contoso\n    mailbox: mfp@contoso.com\n");
  char host[256] = {};
  REQUIRE(::gethostname(host, sizeof host - 1) == 0);
  CHECK(c.hostname == host);
  CHECK(c.source_path == f.config_path());
  CHECK(c.log_level == LogLevel::info);
  CHECK(c.log_format == LogFormat::text);

  REQUIRE(c.tenants.count("contoso") == 1);
  const Tenant& t = c.tenants.at("contoso");
  CHECK(t.name == "contoso");
  CHECK(t.tenant_id == "5f3c1a2b-0000-4000-8000-000000000001");
  CHECK(t.client_id == "8a1b2c3d-0000-4000-8000-000000000002");
  CHECK(t.authority == "https://login.microsoftonline.com");
  CHECK(t.scope == "https://outlook.office365.com/.default");
  CHECK(t.smtp.host == "smtp.office365.com");
  CHECK(t.smtp.port == 587);
  CHECK(t.smtp.tls == TlsMode::starttls);
  CHECK(t.imap.host == "outlook.office365.com");
  CHECK(t.imap.port == 993);
  CHECK(t.imap.tls == TlsMode::implicit);
  CHECK(t.pop3.port == 995);
  CHECK(t.smtp.max_connections_per_mailbox == 3);  // per-protocol defaults
  CHECK(t.imap.max_connections_per_mailbox == 16);
  CHECK(t.pop3.max_connections_per_mailbox == 16);
  CHECK(t.pop3.tls == TlsMode::implicit);
  CHECK_FALSE(t.ca_file.has_value());
  CHECK_FALSE(t.certificate.has_value());
  CHECK(t.token_url() == "https://login.microsoftonline.com/5f3c1a2b-0000-4000-8000-000000000001/oauth2/v2.0/token");

  REQUIRE(c.listeners.size() == 1);
  const Listener& l = c.listeners[0];
  CHECK(l.protocol == Protocol::smtp);
  CHECK(l.listen == "127.0.0.1:2525");
  CHECK(l.address == "127.0.0.1");
  CHECK(l.port == 2525);
  CHECK(l.tls == TlsMode::none);
  CHECK_FALSE(l.allow_plaintext_auth);
  CHECK(l.name() == "smtp:127.0.0.1:2525");

  const User& u = c.users.at("scanner01");
  CHECK(u.name == "scanner01");
  CHECK(u.password_hash == kHash);
  CHECK(u.tenant == "contoso");
  CHECK(u.mailbox == "scanner@contoso.com");
  CHECK(u.protocols == std::vector<Protocol>{Protocol::smtp, Protocol::imap, Protocol::pop3});
  CHECK(u.allows(Protocol::smtp));
  CHECK(u.allows(Protocol::pop3));
  CHECK(u.sources.empty());
  CHECK(u.senders == std::vector<std::string>{"scanner@contoso.com"});

  REQUIRE(c.no_auth.size() == 1);
  CHECK(c.no_auth[0].senders == std::vector<std::string>{"mfp@contoso.com"});
  CHECK(c.no_auth[0].sources.size() == 1);
  CHECK(c.no_auth[0].sources[0].to_string() == "192.168.20.5/32");

  Limits defaults;
  CHECK(c.limits.max_sessions == defaults.max_sessions);
  CHECK(c.limits.max_message_size == 35u * 1024 * 1024);
  CHECK(c.limits.command_timeout == 300s);
  CHECK(c.limits.login_cache_ttl == 300s);
  CHECK(c.limits.splice_idle_timeout == 1800s);
  CHECK(c.limits.mailbox_wait_timeout == 60s);
  CHECK(c.tenants.at("contoso").smtp.max_connections_per_mailbox == 3);
}

TEST_CASE("every value can be set") {
  Fixture f;
  f.write("ca.pem", "ca");
  Config c = load_ok(f, yaml(R"(
server:
  hostname: relay.contoso.local
log:
  level: debug
  format: json
tenants:
  contoso:
    tenant_id: contoso.onmicrosoft.com
    client_id: 8A1B2C3D-0000-4000-8000-000000000002
    client_secret_file: secrets/contoso.secret
    authority: https://login.microsoftonline.us/
    scope: https://outlook.office365.us/.default
    smtp: {port: 25, max_connections_per_mailbox: 5}
    imap: {host: imap.test, port: 143, tls: starttls}
    pop3: {host: pop.test}
    ca_file: ca.pem
listeners:
  - protocol: imap
    listen: "[::]:993"
    tls: implicit
    cert_file: tls/relay.crt
    key_file: ./tls/../tls/relay.key
    allow_plaintext_auth: true
  - protocol: pop3
    listen: "0.0.0.0:110"
    tls: none
users:
  scanner01:
    password_hash: "$y$j9T$GU15flNw9WimW3d3kPPrI1$BSC.Vt3lI7R5hAfagB9XyhKAQcJjhxNUM8Y6NJMDso5"
    tenant: contoso
    mailbox: scanner@contoso.com
    protocols: [smtp, pop3, smtp]
    sources: ["192.168.10.0/24", "fd00:10::/64"]
    senders: ["*@contoso.com", scanner@contoso.com]
limits:
  max_sessions: 50
  max_message_size: 10M
  max_line_length: 2000
  command_timeout: 1m
  data_timeout: 90
  upstream_connect_timeout: 10s
  upstream_reply_timeout: 1h
  token_timeout: 15s
  login_cache_ttl: 0
  shutdown_grace: 0
  splice_idle_timeout: 45m
  mailbox_wait_timeout: 0
)"));
  CHECK(c.hostname == "relay.contoso.local");
  CHECK(c.log_level == LogLevel::debug);
  CHECK(c.log_format == LogFormat::json);
  const Tenant& t = c.tenants.at("contoso");
  CHECK(t.tenant_id == "contoso.onmicrosoft.com");
  CHECK(t.token_url() == "https://login.microsoftonline.us/contoso.onmicrosoft.com/oauth2/v2.0/token");
  CHECK(t.scope == "https://outlook.office365.us/.default");
  // Partial endpoints keep the rest of their defaults.
  CHECK(t.smtp.host == "smtp.office365.com");
  CHECK(t.smtp.port == 25);
  CHECK(t.smtp.tls == TlsMode::starttls);
  CHECK(t.imap.host == "imap.test");
  CHECK(t.imap.port == 143);
  CHECK(t.imap.tls == TlsMode::starttls);
  CHECK(t.pop3.host == "pop.test");
  CHECK(t.pop3.port == 995);
  CHECK(t.smtp.max_connections_per_mailbox == 5);
  CHECK(t.pop3.max_connections_per_mailbox == 16);
  CHECK(t.ca_file == f.abs("ca.pem"));

  REQUIRE(c.listeners.size() == 2);
  CHECK(c.listeners[0].protocol == Protocol::imap);
  CHECK(c.listeners[0].address == "::");
  CHECK(c.listeners[0].port == 993);
  CHECK(c.listeners[0].tls == TlsMode::implicit);
  CHECK(c.listeners[0].cert_file == f.abs("tls/relay.crt"));
  CHECK(c.listeners[0].key_file == f.abs("tls/relay.key"));
  CHECK(c.listeners[0].allow_plaintext_auth);
  CHECK(c.listeners[0].name() == "imap:[::]:993");
  CHECK(c.listeners[1].name() == "pop3:0.0.0.0:110");

  const User& u = c.users.at("scanner01");
  CHECK(u.protocols == std::vector<Protocol>{Protocol::smtp, Protocol::pop3});
  CHECK_FALSE(u.allows(Protocol::imap));
  REQUIRE(u.sources.size() == 2);
  CHECK(u.sources[1].to_string() == "fd00:10::/64");
  CHECK(u.senders == std::vector<std::string>{"*@contoso.com", "scanner@contoso.com"});

  CHECK(c.limits.max_sessions == 50);
  CHECK(c.limits.max_message_size == 10u * 1024 * 1024);
  CHECK(c.limits.max_line_length == 2000);
  CHECK(c.limits.command_timeout == 60s);
  CHECK(c.limits.data_timeout == 90s);
  CHECK(c.limits.upstream_connect_timeout == 10s);
  CHECK(c.limits.upstream_reply_timeout == 3600s);
  CHECK(c.limits.token_timeout == 15s);
  CHECK(c.limits.login_cache_ttl == 0s);
  CHECK(c.limits.shutdown_grace == 0s);
  CHECK(c.limits.splice_idle_timeout == 2700s);
  CHECK(c.limits.mailbox_wait_timeout == 0s);
}

TEST_CASE("ca_file: null is the same as no ca_file") {
  Fixture f;
  Config c = load_ok(f, base_tenant() + "    ca_file: null\n" + base_listener());
  CHECK_FALSE(c.tenants.at("contoso").ca_file.has_value());
  Config tilde = load_ok(f, base_tenant() + "    ca_file: ~\n" + base_listener());
  CHECK_FALSE(tilde.tenants.at("contoso").ca_file.has_value());
}

TEST_CASE("relative paths resolve against the config file's directory, absolute ones stay") {
  Fixture f;
  std::string abs_cert = f.write("elsewhere/relay.crt", "c");
  auto text = base_tenant() + "listeners:\n  - listen: \"0.0.0.0:465\"\n    tls: implicit\n"
              "    cert_file: " + abs_cert + "\n    key_file: tls/relay.key\n";
  Config c = load_ok(f, text);
  CHECK(c.listeners[0].cert_file == abs_cert);
  CHECK(c.listeners[0].key_file == f.abs("tls/relay.key"));
  CHECK(c.tenants.at("contoso").client_secret_file == f.abs("secrets/contoso.secret"));

  // A config named by a relative path: the working directory makes it absolute.
  std::filesystem::path old = std::filesystem::current_path();
  std::filesystem::current_path(f.path());
  auto r = load_config_from_string(text, "./sub/../relay.yaml");
  std::filesystem::current_path(old);
  XR_INFO_ERRORS(r);
  REQUIRE(r.config.has_value());
  CHECK(r.config->source_path == f.config_path());
  CHECK(r.config->listeners[0].key_file == f.abs("tls/relay.key"));
}

TEST_CASE("the client secret is read from the file, without its trailing newline") {
  Fixture f;
  auto head = base_tenant().substr(0, base_tenant().find("    client_secret"));
  Config c = load_ok(f, base_tenant() + base_listener());
  CHECK(c.tenants.at("contoso").client_secret.reveal() == kSecret);

  f.write("secrets/crlf.secret", kSecret + "\r\n");
  Config crlf = load_ok(f, head + "    client_secret_file: secrets/crlf.secret\n" + base_listener());
  CHECK(crlf.tenants.at("contoso").client_secret.reveal() == kSecret);

  f.write("secrets/bare.secret", kSecret);
  Config bare = load_ok(f, head + "    client_secret_file: secrets/bare.secret\n" + base_listener());
  CHECK(bare.tenants.at("contoso").client_secret.reveal() == kSecret);

  // Only one newline is dropped: anything else belongs to the value.
  f.write("secrets/two.secret", kSecret + "\n\n");
  Config two = load_ok(f, head + "    client_secret_file: secrets/two.secret\n" + base_listener());
  CHECK(two.tenants.at("contoso").client_secret.reveal() == kSecret + "\n");
}

TEST_CASE("the client secret is read from the environment") {
  Fixture f;
  ::setenv("XR_TEST_CONTOSO_SECRET", kSecret.c_str(), 1);
  auto head = base_tenant().substr(0, base_tenant().find("    client_secret"));
  Config c = load_ok(f, head + "    client_secret_env: XR_TEST_CONTOSO_SECRET\n" + base_listener());
  ::unsetenv("XR_TEST_CONTOSO_SECRET");
  const Tenant& t = c.tenants.at("contoso");
  CHECK(t.client_secret.reveal() == kSecret);
  CHECK(t.client_secret_env == "XR_TEST_CONTOSO_SECRET");
  CHECK_FALSE(t.client_secret_file.has_value());
}

TEST_CASE("a certificate credential loads both paths and no secret") {
  Fixture f;
  auto head = base_tenant().substr(0, base_tenant().find("    client_secret"));
  Config c = load_ok(f, head + "    certificate:\n      cert_file: tls/relay.crt\n      key_file: tls/relay.key\n" +
                            base_listener());
  const Tenant& t = c.tenants.at("contoso");
  REQUIRE(t.certificate.has_value());
  CHECK(t.certificate->cert_file == f.abs("tls/relay.crt"));
  CHECK(t.certificate->key_file == f.abs("tls/relay.key"));
  CHECK(t.client_secret.empty());
}

TEST_CASE("no error message ever contains the client secret") {
  Fixture f;
  ::setenv("XR_TEST_CONTOSO_SECRET", kSecret.c_str(), 1);
  // Many mistakes at once, in a config whose secrets are loaded.
  auto r = f.load(base_tenant() + "    authority: nope\n  fabrikam:\n    tenant_id: x\n"
                  "    client_id: 8a1b2c3d-0000-4000-8000-000000000003\n"
                  "    client_secret_env: XR_TEST_CONTOSO_SECRET\n    scope: y\n" +
                  base_listener() + base_user() + "    sources: [1.2.3.4/8]\n    protocol: smtp\n");
  ::unsetenv("XR_TEST_CONTOSO_SECRET");
  REQUIRE(r.errors.size() >= 4);
  CHECK_FALSE(r.config.has_value());
  for (const auto& e : r.errors) {
    CHECK_FALSE(contains(e.format(), kSecret));
  }
}

TEST_CASE("listener protocols imap and pop3 are accepted by the schema") {
  Fixture f;
  Config c = load_ok(f, base_tenant() + "listeners:\n  - protocol: pop3\n    listen: \"127.0.0.1:1110\"\n    tls: none\n"
                                        "  - protocol: imap\n    listen: \"127.0.0.1:1143\"\n    tls: none\n");
  CHECK(c.listeners[0].protocol == Protocol::pop3);
  CHECK(c.listeners[1].protocol == Protocol::imap);
}

TEST_CASE("load_config reads the file") {
  Fixture f;
  f.write("relay.yaml", base_tenant() + base_listener());
  auto r = load_config(f.config_path());
  XR_INFO_ERRORS(r);
  REQUIRE(r.config.has_value());
  CHECK(r.config->tenants.at("contoso").client_secret.reveal() == kSecret);
}

TEST_CASE("enum names") {
  CHECK(std::string(to_string(TlsMode::starttls)) == "starttls");
  CHECK(std::string(to_string(TlsMode::none)) == "none");
  CHECK(std::string(to_string(TlsMode::implicit)) == "implicit");
  CHECK(std::string(to_string(Protocol::pop3)) == "pop3");
  CHECK(std::string(to_string(LogLevel::warn)) == "warn");
  CHECK(std::string(to_string(LogFormat::json)) == "json");
}
