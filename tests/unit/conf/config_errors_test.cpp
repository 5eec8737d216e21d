// Every kind of config mistake: its place (line:column), key and fix text.
#include "conf_test_support.hpp"

using namespace xr::conf;
using namespace xr::conf::test;

TEST_CASE("YAML syntax errors carry yaml-cpp's position") {
  Fixture f;
  auto r = f.load("server:\n  hostname: [relay\nlog:\n  level: info\n");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].line == 3);
  CHECK(r.errors[0].column == 4);
  CHECK(contains(r.errors[0].message, "invalid YAML"));
  CHECK(contains(r.errors[0].format(), f.config_path() + ":3:4: invalid YAML"));
}

TEST_CASE("an empty file, or one that is not a mapping") {
  Fixture f;
  auto empty = f.load("# nothing yet\n");
  REQUIRE(empty.errors.size() == 1);
  CHECK(contains(empty.errors[0].message, "empty"));
  auto list = f.load("- a\n- b\n");
  REQUIRE(list.errors.size() == 1);
  CHECK(list.errors[0].line == 1);
  CHECK(contains(list.errors[0].message, "expected a mapping"));
}

TEST_CASE("an unknown key suggests the right one, and the key is then not reported missing") {
  Fixture f;
  auto r = f.load(yaml(R"(
server:
  hostname: x
tenants:
  contoso:
    tenantid: 5f3c1a2b-0000-4000-8000-000000000001
    client_id: 8a1b2c3d-0000-4000-8000-000000000002
    client_secret_file: secrets/contoso.secret
listeners:
  - listen: "127.0.0.1:2525"
    tls: none
)"));
  auto msg = expect_error(r, "tenants.contoso.tenantid", 5, 5);
  CHECK(msg == "unknown key `tenantid`; did you mean `tenant_id`?");
  CHECK(r.errors.size() == 1);
}

TEST_CASE("an unknown key with no close match lists the allowed keys") {
  Fixture f;
  auto r = f.load("log:\n  colour: red\n" + base_listener());
  auto msg = expect_error(r, "log.colour", 2, 3);
  CHECK(msg == "unknown key `colour`; expected one of: level, format");
  auto top = f.load(base_listener() + "user:\n  a: {}\n");
  CHECK(expect_error(top, "user", 4, 1) == "unknown key `user`; did you mean `users`?");
}

TEST_CASE("wrong value types say what was expected") {
  Fixture f;
  auto r = f.load(yaml(R"(
tenants:
  contoso:
    tenant_id: 5f3c1a2b-0000-4000-8000-000000000001
    client_id: 8a1b2c3d-0000-4000-8000-000000000002
    client_secret_file: secrets/contoso.secret
    smtp: {host: smtp.office365.com, port: abc}
listeners:
  - listen: "127.0.0.1:2525"
    tls: none
    allow_plaintext_auth: yes
  - listen: ["127.0.0.1:2526"]
    tls: none
limits:
  max_sessions: many
  command_timeout: 5 minutes
  max_message_size: 35 MB
users: [scanner01]
)"));
  CHECK(expect_error(r, "tenants.contoso.smtp.port", 6, 44) ==
        "expected a number from 1 to 65535, got `abc`");
  CHECK(expect_error(r, "listeners[0].allow_plaintext_auth", 10, 27) == "expected true or false, got `yes`");
  CHECK(expect_error(r, "listeners[1].listen", 11, 13) == "expected a string, got a list");
  CHECK(expect_error(r, "limits.max_sessions", 14, 17) == "expected a number from 1 to 1000000, got `many`");
  CHECK(contains(expect_error(r, "limits.command_timeout", 15, 20), "\"30s\", \"5m\", \"1h\" or \"5d\""));
  CHECK(contains(expect_error(r, "limits.max_message_size", 16, 21), "\"512K\", \"35M\""));
  CHECK(contains(expect_error(r, "users", 17, 8), "expected a mapping"));
}

TEST_CASE("numbers out of range") {
  Fixture f;
  auto r = f.load(base_listener() + "limits:\n  max_line_length: 80\n  command_timeout: 0\n  login_cache_ttl: 0\n");
  CHECK(expect_error(r, "limits.max_line_length", 5, 20) == "`80` is out of range; expected a number from 1000 to 1048576");
  CHECK(expect_error(r, "limits.command_timeout", 6, 20) == "must be at least 1 second");
  CHECK(error_for(r, "limits.login_cache_ttl") == nullptr);  // 0 disables the cache
}

TEST_CASE("missing required keys are reported at their mapping with what to write") {
  Fixture f;
  auto r = f.load(base_tenant() + base_listener() + yaml(R"(
users:
  scanner01:
    password_hash: "$y$j9T$GU15flNw9WimW3d3kPPrI1$BSC.Vt3lI7R5hAfagB9XyhKAQcJjhxNUM8Y6NJMDso5"
    tenant: contoso
no_auth:
  - tenant: contoso
    mailbox: mfp@contoso.com
)"));
  CHECK(expect_error(r, "users.scanner01.mailbox", 11, 5) ==
        "missing required key `mailbox`; the Office 365 mailbox this device sends as, e.g. scanner@contoso.com");
  CHECK(contains(expect_error(r, "no_auth[0].sources", 14, 5), "missing required key `sources`"));
  CHECK(r.errors.size() == 2);
}

TEST_CASE("no listeners at all is an error") {
  Fixture f;
  auto absent = f.load(base_tenant());
  CHECK(contains(expect_error(absent, "listeners", 1, 1), "missing required key `listeners`"));
  auto empty = f.load(base_tenant() + "listeners: []\n");
  CHECK(contains(expect_error(empty, "listeners", 6, 12), "no listeners: add at least one"));
}

TEST_CASE("a user name written twice is an error at the second one") {
  Fixture f;
  auto r = f.load(base_tenant() + base_listener() + base_user() +
                  "  scanner01:\n    password_hash: \"" + kHash + "\"\n    tenant: contoso\n    mailbox: b@contoso.com\n");
  CHECK(expect_error(r, "users.scanner01", 14, 3) == "`scanner01` appears twice (first at line 10); remove or rename one");
}

TEST_CASE("an unknown tenant lists the known ones and suggests the closest") {
  Fixture f;
  auto r = f.load(base_tenant() + "  fabrikam:\n    tenant_id: fabrikam.onmicrosoft.com\n"
                  "    client_id: 8a1b2c3d-0000-4000-8000-000000000003\n    client_secret_file: secrets/contoso.secret\n" +
                  base_listener() + base_user() + "no_auth:\n  - {sources: [10.0.0.1], tenant: nobody, mailbox: a@b.c}\n");
  CHECK(contains(expect_error(r, "no_auth[0].tenant", 19, 35), "unknown tenant `nobody`; known tenants: contoso, fabrikam"));
  auto typo = f.load(base_tenant() + base_listener() +
                     "users:\n  u:\n    password_hash: \"" + kHash + "\"\n    tenant: contosso\n    mailbox: a@b.c\n");
  CHECK(expect_error(typo, "users.u.tenant", 12, 13) ==
        "unknown tenant `contosso` (did you mean `contoso`?); known tenants: contoso");
  auto none = f.load(base_listener() + "users:\n  u:\n    password_hash: \"" + kHash +
                     "\"\n    tenant: contoso\n    mailbox: a@b.c\n");
  CHECK(contains(expect_error(none, "users.u.tenant", 7, 13), "no tenants are defined"));
}

TEST_CASE("bad networks in sources") {
  Fixture f;
  auto r = f.load(base_tenant() + base_listener() + base_user() +
                  "    sources: [\"192.168.10.0/24\", \"192.168.10.1/24\", banana]\n");
  CHECK(contains(expect_error(r, "users.scanner01.sources[1]", 14, 34), "did you mean 192.168.10.0/24?"));
  CHECK(contains(expect_error(r, "users.scanner01.sources[2]", 14, 53), "not an IP address or network"));
  auto empty = f.load(base_tenant() + base_listener() + base_user() + "    sources: []\n");
  CHECK(contains(expect_error(empty, "users.scanner01.sources", 14, 14), "empty list"));
}

TEST_CASE("bad listen addresses") {
  Fixture f;
  auto r = f.load(base_tenant() + yaml(R"(
listeners:
  - listen: "127.0.0.1:99999"
    tls: none
  - listen: relay.local:25
    tls: none
  - listen: 587
    tls: none
)"));
  CHECK(contains(expect_error(r, "listeners[0].listen", 7, 13), "the port must be a number from 1 to 65535"));
  CHECK(contains(expect_error(r, "listeners[1].listen", 9, 13), "not an IP address"));
  CHECK(contains(expect_error(r, "listeners[2].listen", 11, 13), "\"0.0.0.0:587\", \"[::]:587\""));
}

TEST_CASE("two listeners on the same address and port") {
  Fixture f;
  auto r = f.load(base_tenant() + base_listener() + "  - listen: \"127.0.0.1:2525\"\n    tls: none\n" +
                  "  - listen: \"[::]:2525\"\n    tls: none\n  - listen: \"[0::0]:2525\"\n    tls: none\n");
  CHECK(expect_error(r, "listeners[1].listen", 9, 13) ==
        "`127.0.0.1:2525` is already used by the listener at line 7; each listener needs its own port");
  CHECK(contains(expect_error(r, "listeners[3].listen", 13, 13), "already used by the listener at line 11"));
  CHECK(r.errors.size() == 2);
}

TEST_CASE("listener TLS needs a certificate and key; tls: none refuses them") {
  Fixture f;
  auto r = f.load(base_tenant() + yaml(R"(
listeners:
  - listen: "127.0.0.1:2525"
    tls: starttls
  - listen: "127.0.0.1:2526"
    tls: none
    cert_file: tls/relay.crt
  - listen: "127.0.0.1:2527"
    tls: implicit
    cert_file: tls/relay.crt
  - listen: "127.0.0.1:2528"
)"));
  CHECK(contains(expect_error(r, "listeners[0].cert_file", 7, 5), "tls: starttls needs a certificate"));
  CHECK(contains(expect_error(r, "listeners[0].key_file", 7, 5), "missing required key `key_file`"));
  CHECK(contains(expect_error(r, "listeners[1].cert_file", 11, 5), "unused with tls: none"));
  CHECK(contains(expect_error(r, "listeners[2].key_file", 12, 5), "tls: implicit needs a certificate"));
  CHECK(error_for(r, "listeners[2].cert_file") == nullptr);
  CHECK(contains(expect_error(r, "listeners[3].tls", 15, 5), "missing required key `tls`"));
}

TEST_CASE("unreadable files name the path and the system's reason") {
  Fixture f;
  auto r = f.load(base_tenant() + "    ca_file: ca/missing.pem\n" + yaml(R"(
listeners:
  - listen: "127.0.0.1:2525"
    tls: starttls
    cert_file: tls/relay.crt
    key_file: tls
)"));
  CHECK(contains(expect_error(r, "tenants.contoso.ca_file", 6, 14),
                 "cannot open " + f.abs("ca/missing.pem") + ": No such file or directory"));
  CHECK(contains(expect_error(r, "listeners[0].key_file", 11, 15), f.abs("tls") + " is a directory"));
}

TEST_CASE("a certificate credential needs both readable files") {
  Fixture f;
  auto r = f.load(yaml(R"(
tenants:
  contoso:
    tenant_id: contoso.onmicrosoft.com
    client_id: 8a1b2c3d-0000-4000-8000-000000000002
    certificate: {cert_file: tls/relay.crt, key_file: nope.key}
)") + base_listener());
  CHECK(contains(expect_error(r, "tenants.contoso.certificate.key_file", 5, 55), f.abs("nope.key")));
  auto missing = f.load(base_tenant().substr(0, base_tenant().find("    client_secret")) +
                        "    certificate: {cert_file: tls/relay.crt}\n" + base_listener());
  CHECK(contains(expect_error(missing, "tenants.contoso.certificate.key_file", 5, 18), "missing required key `key_file`"));
}

TEST_CASE("tenant credentials: exactly one source") {
  Fixture f;
  auto head = base_tenant().substr(0, base_tenant().find("    client_secret"));
  auto none = f.load(head + base_listener());
  CHECK(contains(expect_error(none, "tenants.contoso", 3, 5), "no credential: add client_secret_file"));
  auto two = f.load(base_tenant() + "    client_secret_env: CONTOSO_SECRET\n" + base_listener());
  CHECK(expect_error(two, "tenants.contoso.client_secret_env", 6, 5) ==
        "a tenant has exactly one credential; remove this or `tenants.contoso.client_secret_file`");
}

TEST_CASE("secret files and variables: empty, missing, unset — never showing a value") {
  Fixture f;
  f.write("secrets/empty.secret", "\n");
  auto head = base_tenant().substr(0, base_tenant().find("    client_secret"));
  auto empty = f.load(head + "    client_secret_file: secrets/empty.secret\n" + base_listener());
  CHECK(contains(expect_error(empty, "tenants.contoso.client_secret_file", 5, 25),
                 f.abs("secrets/empty.secret") + " is empty"));
  auto missing = f.load(head + "    client_secret_file: secrets/none.secret\n" + base_listener());
  CHECK(contains(expect_error(missing, "tenants.contoso.client_secret_file", 5, 25), "No such file or directory"));

  ::unsetenv("XR_TEST_UNSET_SECRET");
  auto unset = f.load(head + "    client_secret_env: XR_TEST_UNSET_SECRET\n" + base_listener());
  CHECK(contains(expect_error(unset, "tenants.contoso.client_secret_env", 5, 24),
                 "environment variable XR_TEST_UNSET_SECRET is not set"));
  ::setenv("XR_TEST_EMPTY_SECRET", "", 1);
  auto blank = f.load(head + "    client_secret_env: XR_TEST_EMPTY_SECRET\n" + base_listener());
  CHECK(contains(expect_error(blank, "tenants.contoso.client_secret_env", 5, 24), "is empty"));
  // Someone pasted the secret itself where the variable's name goes.
  auto pasted = f.load(head + "    client_secret_env: \"" + kSecret + "\"\n" + base_listener());
  auto msg = expect_error(pasted, "tenants.contoso.client_secret_env", 5, 24);
  CHECK(contains(msg, "not an environment variable name"));
  // The message quotes the name it was given — which here is the secret. It
  // must not: the value of client_secret_env is echoed only when it is a valid name.
  CHECK_FALSE(contains(all_errors(pasted), kSecret));
}

TEST_CASE("invalid password hashes") {
  Fixture f;
  auto r = f.load(base_tenant() + base_listener() +
                  "users:\n  old:\n    password_hash: \"$1$abcdefgh$yJXAoFMEQqTjtC3ZY9Y6d/\"\n"
                  "    tenant: contoso\n    mailbox: a@contoso.com\n"
                  "  cut:\n    password_hash: $y$j9T$GU15flNw9WimW3d3kPPrI1\n"
                  "    tenant: contoso\n    mailbox: b@contoso.com\n");
  auto legacy = expect_error(r, "users.old.password_hash", 11, 20);
  CHECK(contains(legacy, "legacy"));
  CHECK(contains(legacy, "`xoauth2-relay hash-password`"));
  CHECK(contains(expect_error(r, "users.cut.password_hash", 15, 20), "truncated"));
}

TEST_CASE("mailboxes and senders must be addresses") {
  Fixture f;
  auto r = f.load(base_tenant() + base_listener() + yaml(R"(
users:
  u:
    password_hash: "$y$j9T$GU15flNw9WimW3d3kPPrI1$BSC.Vt3lI7R5hAfagB9XyhKAQcJjhxNUM8Y6NJMDso5"
    tenant: contoso
    mailbox: scanner.contoso.com
    senders: ["*@contoso.com", "x@@contoso.com", "scan*@contoso.com"]
)"));
  CHECK(contains(expect_error(r, "users.u.mailbox", 13, 14), "expected exactly one '@'"));
  CHECK(error_for(r, "users.u.senders[0]") == nullptr);
  CHECK(contains(expect_error(r, "users.u.senders[1]", 14, 32), "is not a sender address"));
  CHECK(contains(expect_error(r, "users.u.senders[2]", 14, 50), "*@contoso.com"));
}

TEST_CASE("enum values suggest the closest name") {
  Fixture f;
  auto r = f.load("log:\n  level: debgu\n  format: JSON\n" + yaml(R"(
listeners:
  - protocol: smpt
    listen: "127.0.0.1:2525"
    tls: start_tls
)"));
  CHECK(expect_error(r, "log.level", 2, 10) == "`debgu` is not one of error | warn | info | debug (did you mean `debug`?)");
  CHECK(contains(expect_error(r, "log.format", 3, 11), "(did you mean `json`?)"));
  CHECK(contains(expect_error(r, "listeners[0].protocol", 5, 15), "(did you mean `smtp`?)"));
  CHECK(contains(expect_error(r, "listeners[0].tls", 7, 10), "(did you mean `starttls`?)"));
}

TEST_CASE("tenant fields: IDs, authority, scope, upstream TLS") {
  Fixture f;
  auto r = f.load(yaml(R"(
tenants:
  contoso:
    tenant_id: "contoso/../x"
    client_id: my-app
    client_secret_file: secrets/contoso.secret
    authority: http://login.microsoftonline.com
    scope: https://outlook.office365.com/SMTP.Send
    smtp: {tls: none}
)") + base_listener());
  CHECK(contains(expect_error(r, "tenants.contoso.tenant_id", 3, 16), "neither a GUID"));
  CHECK(contains(expect_error(r, "tenants.contoso.client_id", 4, 16), "not a GUID"));
  CHECK(contains(expect_error(r, "tenants.contoso.authority", 6, 16), "https://"));
  CHECK(contains(expect_error(r, "tenants.contoso.scope", 7, 12), "/.default"));
  CHECK(expect_error(r, "tenants.contoso.smtp.tls", 8, 17) ==
        "the upstream connection carries the OAuth token, so it is always TLS; use starttls or implicit");
}

TEST_CASE("a null or empty value is reported at its key") {
  Fixture f;
  auto r = f.load("server:\n  hostname:\nlog:\n  level: \"\"\n" + base_listener());
  CHECK(contains(expect_error(r, "server.hostname", 2, 3), "expected a string, got nothing"));
  CHECK(expect_error(r, "log.level", 4, 10) == "`` is not one of error | warn | info | debug");
}

TEST_CASE("all errors are collected, in file order") {
  Fixture f;
  auto r = f.load(yaml(R"(
limits:
  max_sesions: 5
log:
  level: loud
listeners:
  - listen: "127.0.0.1:0"
    tls: none
users:
  u:
    tenant: nowhere
)"));
  XR_INFO_ERRORS(r);
  REQUIRE(r.errors.size() == 6);
  CHECK(r.errors[0].key == "limits.max_sesions");
  CHECK(r.errors[1].key == "log.level");
  CHECK(r.errors[2].key == "listeners[0].listen");
  CHECK(r.errors[3].key == "users.u.password_hash");  // missing: at the mapping, line 10
  CHECK(r.errors[4].key == "users.u.mailbox");
  CHECK(r.errors[3].line == 10);
  CHECK(r.errors[5].key == "users.u.tenant");  // line 10, column 13
}

TEST_CASE("an unreadable config file is an error without a position") {
  TempDir d;
  auto r = load_config(d.abs("nope.yaml"));
  REQUIRE(r.errors.size() == 1);
  CHECK_FALSE(r.config.has_value());
  CHECK(r.errors[0].line == 0);
  CHECK(r.errors[0].format() ==
        d.abs("nope.yaml") + ": cannot read the configuration file: cannot open " + d.abs("nope.yaml") +
            ": No such file or directory");
  auto dir = load_config(d.path().string());
  REQUIRE(dir.errors.size() == 1);
  CHECK(contains(dir.errors[0].message, "is a directory"));
}

TEST_CASE("ConfigError::format") {
  ConfigError e{"/etc/x.yaml", 3, 7, "log.level", "bad"};
  CHECK(e.format() == "/etc/x.yaml:3:7: log.level: bad");
  e.line = 0;
  CHECK(e.format() == "/etc/x.yaml: log.level: bad");
  e.key.clear();
  CHECK(e.format() == "/etc/x.yaml: bad");
}
