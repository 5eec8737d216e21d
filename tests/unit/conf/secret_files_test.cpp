// Secret, key and config files: regular files only (without ever blocking on
// a FIFO), and secrets and private keys closed to group and others, refused
// with the chmod that fixes it, as OpenSSH does for private keys.
#include "conf/files.hpp"
#include "tests/unit/conf/conf_test_support.hpp"

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdlib>

using namespace xr::conf;
using namespace xr::conf::test;

namespace {

std::string listener_with_key() {
  return "listeners:\n"
         "  - listen: \"127.0.0.1:2525\"\n"
         "    tls: starttls\n"
         "    cert_file: tls/relay.crt\n"
         "    key_file: tls/relay.key\n";
}

std::string make_fifo(const Fixture& f, const std::string& rel) {
  std::string p = f.abs(rel);
  REQUIRE(::mkfifo(p.c_str(), 0600) == 0);
  return p;
}

}  // namespace

TEST_CASE("a secret file readable by others is refused with the exact chmod, never showing the secret") {
  Fixture f;
  std::string path = f.abs("secrets/contoso.secret");
  ::chmod(path.c_str(), 0644);
  auto r = f.load(base_tenant() + base_listener());
  std::string msg = expect_error(r, "tenants.contoso.client_secret_file", 5, 25);
  CHECK(msg == "`" + path + "` is readable by others (mode 0644); run: chmod 600 " + path);
  CHECK_FALSE(contains(all_errors(r), kSecret));
  CHECK(contains(all_errors(r), f.config_path() + ":5:25"));
}

TEST_CASE("a secret file readable by its group is refused too") {
  Fixture f;
  std::string path = f.abs("secrets/contoso.secret");
  ::chmod(path.c_str(), 0640);
  auto r = f.load(base_tenant() + base_listener());
  CHECK(expect_error(r, "tenants.contoso.client_secret_file", 5, 25) ==
        "`" + path + "` is readable by its group (mode 0640); run: chmod 600 " + path);
  ::chmod(path.c_str(), 0400);
  CHECK(f.load(base_tenant() + base_listener()).config.has_value());
}

TEST_CASE("a listener's private key open to others is refused; its certificate may be public") {
  Fixture f;
  ::chmod(f.abs("tls/relay.crt").c_str(), 0644);
  auto ok = f.load(base_tenant() + listener_with_key());
  XR_INFO_ERRORS(ok);
  CHECK(ok.config.has_value());
  std::string key = f.abs("tls/relay.key");
  ::chmod(key.c_str(), 0604);
  auto r = f.load(base_tenant() + listener_with_key());
  CHECK(expect_error(r, "listeners[0].key_file", 10, 15) ==
        "`" + key + "` is readable by others (mode 0604); run: chmod 600 " + key);
  CHECK(error_for(r, "listeners[0].cert_file") == nullptr);
}

TEST_CASE("a tenant certificate's private key open to its group is refused") {
  Fixture f;
  std::string key = f.abs("tls/relay.key");
  ::chmod(key.c_str(), 0660);
  auto r = f.load(yaml(R"(
tenants:
  contoso:
    tenant_id: contoso.onmicrosoft.com
    client_id: 8a1b2c3d-0000-4000-8000-000000000002
    certificate: {cert_file: tls/relay.crt, key_file: tls/relay.key}
)") + base_listener());
  CHECK(expect_error(r, "tenants.contoso.certificate.key_file", 5, 55) ==
        "`" + key + "` is readable by its group (mode 0660); run: chmod 600 " + key);
}

TEST_CASE("a FIFO as secret, key or certificate is refused at once instead of blocking the load") {
  Fixture f;
  make_fifo(f, "secrets/pipe.secret");
  make_fifo(f, "tls/pipe.key");
  make_fifo(f, "tls/pipe.crt");
  auto head = base_tenant().substr(0, base_tenant().find("    client_secret"));
  auto r = f.load(head + "    client_secret_file: secrets/pipe.secret\n" +
                  "listeners:\n"
                  "  - listen: \"127.0.0.1:2525\"\n"
                  "    tls: starttls\n"
                  "    cert_file: tls/pipe.crt\n"
                  "    key_file: tls/pipe.key\n");
  CHECK(contains(expect_error(r, "tenants.contoso.client_secret_file", 5, 25),
                 f.abs("secrets/pipe.secret") + " is a FIFO (named pipe); expected a regular file"));
  CHECK(contains(expect_error(r, "listeners[0].cert_file", 9, 16), "is a FIFO"));
  CHECK(contains(expect_error(r, "listeners[0].key_file", 10, 15), "is a FIFO"));
}

TEST_CASE("a device as key file is refused") {
  Fixture f;
  auto r = f.load(base_tenant() +
                  "listeners:\n"
                  "  - listen: \"127.0.0.1:2525\"\n"
                  "    tls: starttls\n"
                  "    cert_file: tls/relay.crt\n"
                  "    key_file: /dev/null\n");
  CHECK(expect_error(r, "listeners[0].key_file", 10, 15) ==
        "/dev/null is a character device; expected a regular file; check the path (relative paths start at the "
        "config file's directory) and that the relay's user may read it");
}

TEST_CASE("the config file itself: a FIFO or a directory is refused without blocking") {
  Fixture f;
  std::string fifo = make_fifo(f, "relay.yaml");
  auto r = load_config(fifo);
  REQUIRE(r.errors.size() == 1);
  CHECK_FALSE(r.config.has_value());
  CHECK(contains(r.errors[0].message, fifo + " is a FIFO (named pipe); expected a regular file"));
  auto dir = load_config(f.path().string());
  REQUIRE(dir.errors.size() == 1);
  CHECK(contains(dir.errors[0].message, "is a directory; expected a regular file"));
}

TEST_CASE("the config file is read and loaded with positions as before") {
  Fixture f;
  f.write("relay.yaml", base_tenant() + base_listener() + "bogus: 1\n");
  auto r = load_config(f.config_path());
  CHECK(contains(expect_error(r, "bogus", 9, 1), "unknown key"));
}

TEST_CASE("private_mode_problem: owner-only modes pass, anything for group or others is refused") {
  CHECK_FALSE(private_mode_problem("/k", S_IFREG | 0600, false));
  CHECK_FALSE(private_mode_problem("/k", S_IFREG | 0400, false));
  CHECK_FALSE(private_mode_problem("/k", S_IFREG | 0700, false));
  CHECK(*private_mode_problem("/k", S_IFREG | 0620, false) ==
        "`/k` is open to group or others (mode 0620); run: chmod 600 /k");
  CHECK(*private_mode_problem("/k", S_IFREG | 0601, false) ==
        "`/k` is open to group or others (mode 0601); run: chmod 600 /k");
  CHECK(*private_mode_problem("/k", S_IFREG | 0444, false) ==
        "`/k` is readable by others (mode 0444); run: chmod 600 /k");
}

TEST_CASE("systemd credentials: 0440 (0400 plus the service user's ACL) is accepted, others still refused") {
  CHECK_FALSE(private_mode_problem("/run/credentials/x.service/s", S_IFREG | 0440, true));
  CHECK_FALSE(private_mode_problem("/run/credentials/x.service/s", S_IFREG | 0400, true));
  CHECK(private_mode_problem("/run/credentials/x.service/s", S_IFREG | 0444, true));
  CHECK(private_mode_problem("/run/credentials/x.service/s", S_IFREG | 0460, true));
  CHECK(private_mode_problem("/k", S_IFREG | 0440, false));
}

TEST_CASE("in_credentials_directory follows $CREDENTIALS_DIRECTORY, whole path components only") {
  ::setenv("CREDENTIALS_DIRECTORY", "/run/credentials/xoauth2-relay.service", 1);
  CHECK(in_credentials_directory("/run/credentials/xoauth2-relay.service/contoso"));
  CHECK_FALSE(in_credentials_directory("/run/credentials/xoauth2-relay.service2/contoso"));
  CHECK_FALSE(in_credentials_directory("/etc/xoauth2-relay/contoso.secret"));
  ::unsetenv("CREDENTIALS_DIRECTORY");
  CHECK_FALSE(in_credentials_directory("/run/credentials/xoauth2-relay.service/contoso"));
}

TEST_CASE("a group-readable secret under $CREDENTIALS_DIRECTORY loads") {
  Fixture f;
  f.write("creds/contoso", kSecret);
  ::chmod(f.abs("creds/contoso").c_str(), 0440);
  ::setenv("CREDENTIALS_DIRECTORY", f.abs("creds").c_str(), 1);
  auto head = base_tenant().substr(0, base_tenant().find("    client_secret"));
  auto r = f.load(head + "    client_secret_file: ${CREDENTIALS_DIRECTORY}/contoso\n" + base_listener());
  ::unsetenv("CREDENTIALS_DIRECTORY");
  XR_INFO_ERRORS(r);
  REQUIRE(r.config.has_value());
  CHECK(r.config->tenants.at("contoso").client_secret.reveal() == kSecret);
}

TEST_CASE("Secret: a moved-from or destroyed value leaves no copy in the storage it owned") {
  Secret a(std::string("short-pw"));  // fits the inline buffer: a move copies it
  const char* inline_buf = a.reveal().data();
  std::size_t cap = a.reveal().capacity();
  Secret b(std::move(a));
  CHECK(b.reveal() == "short-pw");
  CHECK(a.reveal().empty());
  CHECK(a.reveal().data() == inline_buf);
  for (std::size_t i = 0; i < cap; ++i) CHECK(inline_buf[i] == '\0');
}

TEST_CASE("a private file owned by another user: the fix also says to give it to the relay's user") {
  CHECK_FALSE(private_mode_problem("/k", S_IFREG | 0600, false, "note").has_value());
  CHECK(*private_mode_problem("/k", S_IFREG | 0640, false, "it belongs to uid 1000") ==
        "`/k` is readable by its group (mode 0640); run: chmod 600 /k; it belongs to uid 1000");
  if (::geteuid() != 0) return;  // chown needs root
  Fixture f;
  std::string path = f.abs("secrets/contoso.secret");
  REQUIRE(::chown(path.c_str(), 65534, 65534) == 0);
  ::chmod(path.c_str(), 0644);
  auto r = f.load(base_tenant() + base_listener());
  std::string msg = expect_error(r, "tenants.contoso.client_secret_file", 5, 25);
  CHECK(contains(msg, "run: chmod 600 " + path + "; it belongs to uid 65534, not to the relay's user: chown root"));
}
