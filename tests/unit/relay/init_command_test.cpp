// `xoauth2-relay init --non-interactive` as a function: the files it writes
// (modes, contents), that the result loads, that it never overwrites, and
// that the secret and the password appear in no output.
#include "auth/password.hpp"
#include "conf/config.hpp"
#include "relay/cli/init_command.hpp"
#include "tests/unit/temp_dir.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>

#include <fstream>
#include <sstream>

using namespace xr::relay::cli;
using xr::test::TempDir;

namespace {

const std::string kSecret = "Xy7~secret.Value_for-init:1";
const std::string kPassword = "pr1nter pass:word";

struct Run {
  int code = 0;
  std::string out, err;
};

struct InitFixture : TempDir {
  InitOptions opts;
  InitFixture() {
    opts.config_path = abs("etc/relay.yaml");
    opts.tenant_id = "5f3c1a2b-0000-4000-8000-000000000001";
    opts.client_id = "8a1b2c3d-0000-4000-8000-000000000002";
    opts.client_secret_file = write("downloaded.secret", kSecret + "\n");
    ::chmod(opts.client_secret_file.c_str(), 0644);  // the admin's own copy: any mode
    opts.user = "scanner01";
    opts.password_stdin = true;
    opts.mailbox = "scanner@contoso.com";
    opts.listen = "127.0.0.1:2525";
    opts.non_interactive = true;
  }
  Run run(const std::string& stdin_text = kPassword + "\n") {
    std::istringstream in(stdin_text);
    std::ostringstream out, err;
    Run r;
    r.code = run_init(opts, in, out, err);
    r.out = out.str();
    r.err = err.str();
    return r;
  }
};

unsigned mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::string read(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("init --non-interactive writes a config that loads, with private files 0600") {
  InitFixture f;
  auto r = f.run();
  REQUIRE_MESSAGE(r.code == 0, r.err);
  auto loaded = xr::conf::load_config(f.abs("etc/relay.yaml"));
  REQUIRE(loaded.config);
  const auto& t = loaded.config->tenants.at("contoso");
  CHECK(t.client_secret.reveal() == kSecret);
  CHECK(xr::auth::verify_password(kPassword, loaded.config->users.at("scanner01").password_hash));
  CHECK(mode_of(f.abs("etc/secrets/contoso.secret")) == 0600);
  CHECK(mode_of(f.abs("etc/tls/relay.key")) == 0600);
  CHECK(mode_of(f.abs("etc/relay.yaml")) == 0640);
  CHECK(read(f.abs("etc/secrets/contoso.secret")) == kSecret + "\n");
  CHECK(contains(r.out, "New-ServicePrincipal -AppId '8a1b2c3d-0000-4000-8000-000000000002'"));
  CHECK(contains(r.out, "next: xoauth2-relay check-config --config " + f.abs("etc/relay.yaml") +
                            "; xoauth2-relay doctor --config " + f.abs("etc/relay.yaml")));
  for (const auto& text : {r.out, r.err}) {
    CHECK_FALSE(contains(text, kSecret));
    CHECK_FALSE(contains(text, kPassword));
    CHECK_FALSE(contains(text, "PRIVATE KEY"));
  }
}

TEST_CASE("init never overwrites, and --force replaces") {
  InitFixture f;
  REQUIRE(f.run().code == 0);
  std::string before = read(f.abs("etc/relay.yaml"));
  auto r = f.run();
  CHECK(r.code == 1);
  CHECK(contains(r.err, f.abs("etc/relay.yaml") + " exists; init never overwrites"));
  CHECK(contains(r.err, "--config " + f.abs("etc/relay-new.yaml")));
  CHECK(contains(r.err, "--force"));
  CHECK(read(f.abs("etc/relay.yaml")) == before);
  f.opts.force = true;
  f.opts.user = "scanner02";
  r = f.run();
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(contains(read(f.abs("etc/relay.yaml")), "\n  scanner02:\n"));
  CHECK(mode_of(f.abs("etc/secrets/contoso.secret")) == 0600);
}

TEST_CASE("init replaces a config that holds only comments (the Debian package's skeleton), nothing else") {
  InitFixture f;
  const std::string skeleton = "# /etc/xoauth2-relay/relay.yaml: configures no relay yet.\n#\n  # run init\n\n";
  f.write("etc/relay.yaml", skeleton);
  auto r = f.run();
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(xr::conf::load_config(f.abs("etc/relay.yaml")).config);
  CHECK(mode_of(f.abs("etc/relay.yaml")) == 0640);

  // One setting makes it a config someone wrote: kept.
  InitFixture g;
  g.write("etc/relay.yaml", skeleton + "log: {level: debug}\n");
  r = g.run();
  CHECK(r.code == 1);
  CHECK(contains(r.err, " exists; init never overwrites"));
  CHECK(read(g.abs("etc/relay.yaml")) == skeleton + "log: {level: debug}\n");
}

TEST_CASE("init: an existing secret file alone also stops it") {
  InitFixture f;
  f.write("etc/secrets/contoso.secret", "old\n");
  auto r = f.run();
  CHECK(r.code == 1);
  CHECK(contains(r.err, f.abs("etc/secrets/contoso.secret") + " exists"));
  CHECK(read(f.abs("etc/secrets/contoso.secret")) == "old\n");
  struct stat st {};
  CHECK(::stat(f.abs("etc/relay.yaml").c_str(), &st) != 0);
}

TEST_CASE("init --non-interactive names every missing flag and writes nothing") {
  InitFixture f;
  f.opts.tenant_id.clear();
  f.opts.client_secret_file.clear();
  f.opts.password_stdin = false;
  f.opts.user.clear();
  auto r = f.run();
  CHECK(r.code == 2);
  CHECK(contains(r.err, "missing --tenant-id"));
  CHECK(contains(r.err, "missing --client-secret-file"));
  CHECK(contains(r.err, "missing --password-stdin"));
  CHECK(contains(r.err, "missing --user"));
  CHECK_FALSE(contains(r.err, "missing --mailbox"));
  struct stat st {};
  CHECK(::stat(f.abs("etc").c_str(), &st) != 0);
}

TEST_CASE("init: invalid flags are named with the fix") {
  InitFixture f;
  f.opts.client_id = "not-a-guid";
  f.opts.authority = "https://login.microsoftonline.com/5f3c1a2b-0000-4000-8000-000000000001";
  f.opts.listen = "relay.local:587";
  auto r = f.run();
  CHECK(r.code == 2);
  CHECK(contains(r.err, "--client-id: `not-a-guid` is not a GUID"));
  CHECK(contains(r.err, "--authority: "));
  CHECK(contains(r.err, "--listen: "));
}

TEST_CASE("init: an empty password on stdin is refused") {
  InitFixture f;
  auto r = f.run("\n");
  CHECK(r.code == 2);
  CHECK(contains(r.err, "--password-stdin"));
}

TEST_CASE("init: a secret that looks like the Secret ID is warned about, not echoed") {
  InitFixture f;
  const std::string id = "4b1c2d3e-0000-4000-8000-000000000009";
  f.opts.client_secret_file = f.write("id.secret", id + "\n");
  auto r = f.run();
  CHECK(r.code == 0);
  CHECK(contains(r.err, "Secret ID"));
  CHECK_FALSE(contains(r.err + r.out, id));
}

TEST_CASE("init --cert-file/--key-file uses the given certificate") {
  InitFixture f;
  REQUIRE(f.run().code == 0);  // makes a certificate to reuse
  InitFixture g;
  g.opts.cert_file = f.abs("etc/tls/relay.crt");
  g.opts.key_file = f.abs("etc/tls/relay.key");
  auto r = g.run();
  REQUIRE_MESSAGE(r.code == 0, r.err);
  auto loaded = xr::conf::load_config(g.abs("etc/relay.yaml"));
  REQUIRE(loaded.config);
  CHECK(loaded.config->listeners[0].cert_file == f.abs("etc/tls/relay.crt"));
  struct stat st {};
  CHECK(::stat(g.abs("etc/tls").c_str(), &st) != 0);  // nothing generated
}
