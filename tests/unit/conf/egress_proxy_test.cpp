// The outbound proxy: proxy URLs as curl reads them (http:// only, no
// credentials in the URL), NO_PROXY matching as curl does, and a tenant's
// `proxy:`, `proxy_auth_file:`, `no_proxy:` or the environment's
// HTTPS_PROXY/NO_PROXY when `proxy:` is absent.
#include "conf/egress_proxy.hpp"
#include "tests/unit/conf/conf_test_support.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <optional>

using namespace xr::conf;
using namespace xr::conf::test;

namespace {

// Sets (or unsets, with nullopt) an environment variable for one test and
// puts back what was there.
class EnvVar {
 public:
  EnvVar(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) ::setenv(name, value->c_str(), 1);
    else ::unsetenv(name);
  }
  ~EnvVar() {
    if (old_) ::setenv(name_, old_->c_str(), 1);
    else ::unsetenv(name_);
  }
  EnvVar(const EnvVar&) = delete;
  EnvVar& operator=(const EnvVar&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// No proxy variable set, whatever the test runner's environment holds.
struct CleanEnv {
  EnvVar a{"https_proxy", std::nullopt}, b{"HTTPS_PROXY", std::nullopt}, c{"no_proxy", std::nullopt},
      d{"NO_PROXY", std::nullopt};
};

const std::string kProxyPassword = "pr0xy/Pa:ss@word";

std::optional<std::string> parse(const std::string& text, EgressProxy& p) { return parse_proxy_url(text, p); }

std::string tenant_with(const std::string& lines) { return base_tenant() + lines + base_listener(); }

// A copy: the result is often a temporary.
Tenant contoso(const LoadResult& r) {
  XR_INFO_ERRORS(r);
  REQUIRE(r.config.has_value());
  return r.config->tenants.at("contoso");
}

// The warnings about proxy keys (a plain listener brings its own).
std::vector<ConfigError> proxy_warnings(const LoadResult& r) {
  std::vector<ConfigError> out;
  for (const auto& w : r.warnings)
    if (contains(w.key, "proxy")) out.push_back(w);
  return out;
}

}  // namespace

TEST_CASE("proxy URLs are normalised to http://host:port, curl's 1080 when the port is missing") {
  EgressProxy p;
  CHECK_FALSE(parse("http://proxy.corp:3128", p));
  CHECK(p.url == "http://proxy.corp:3128");
  CHECK(p.host == "proxy.corp");
  CHECK(p.port == 3128);
  CHECK_FALSE(parse("HTTP://Proxy.Corp:8080/", p));
  CHECK(p.url == "http://proxy.corp:8080");
  CHECK_FALSE(parse("http://proxy.corp", p));
  CHECK(p.port == 1080);
  CHECK(p.url == "http://proxy.corp:1080");
  // Without a scheme, as HTTPS_PROXY often is: curl assumes http://.
  CHECK_FALSE(parse("10.0.0.1:3128", p));
  CHECK(p.url == "http://10.0.0.1:3128");
  CHECK(p.host == "10.0.0.1");
  CHECK_FALSE(parse("http://[2001:db8::1]:3128", p));
  CHECK(p.host == "2001:db8::1");
  CHECK(p.url == "http://[2001:db8::1]:3128");
  CHECK_FALSE(parse("http://[::1]", p));
  CHECK(p.port == 1080);
}

TEST_CASE("only http:// proxies are accepted, and the reason says TLS stays end to end") {
  EgressProxy p;
  auto https = parse("https://proxy.corp:3128", p);
  REQUIRE(https);
  CHECK(contains(*https, "only http:// proxies are supported"));
  CHECK(contains(*https, "CONNECT"));
  CHECK(contains(*https, "end to end"));
  auto socks = parse("socks5://proxy.corp:1080", p);
  REQUIRE(socks);
  CHECK(contains(*socks, "`socks5://` proxies are not supported"));
}

TEST_CASE("credentials in a proxy URL are refused without echoing them") {
  EgressProxy p;
  for (const std::string& url : {"http://alice:" + kProxyPassword + "@proxy.corp:3128",
                                "alice:" + kProxyPassword + "@proxy.corp:3128", std::string("http://alice@proxy.corp:3128"),
                                // a password holding "://" must not be taken for a scheme and echoed
                                std::string("alice:se://cret@proxy.corp:3128")}) {
    auto err = parse(url, p);
    REQUIRE(err);
    CHECK(contains(*err, "proxy_auth_file"));
    CHECK_FALSE(contains(*err, kProxyPassword));
    CHECK_FALSE(contains(*err, "pr0xy"));
    CHECK_FALSE(contains(*err, "alice"));
  }
}

TEST_CASE("malformed proxy URLs are refused with what to write") {
  EgressProxy p;
  CHECK(contains(*parse("", p), "empty"));
  CHECK(contains(*parse("http://proxy.corp:3128/path", p), "has a path"));
  CHECK(contains(*parse("http://proxy.corp:99999", p), "1 to 65535"));
  CHECK(contains(*parse("http://proxy.corp:0", p), "1 to 65535"));
  CHECK(contains(*parse("http://proxy.corp:", p), "without a port"));
  CHECK(contains(*parse("http://proxy.corp:31x", p), "1 to 65535"));
  CHECK(contains(*parse("http://2001:db8::1:3128", p), "in brackets"));
  CHECK(contains(*parse("http://[2001:db8::1:3128", p), "closing ']'"));
  CHECK(contains(*parse("http://[10.0.0.1]:3128", p), "not an IPv6 address"));
  CHECK(contains(*parse("http://pro xy:3128", p), "no valid host name"));
  CHECK(contains(*parse("http://:3128", p), "no valid host name"));
}

TEST_CASE("NO_PROXY lists split at commas and blanks, lower-cased") {
  CHECK(split_no_proxy("localhost, .Corp.example,,10.0.0.0/8 ::1\t*") ==
        std::vector<std::string>{"localhost", ".corp.example", "10.0.0.0/8", "::1", "*"});
  CHECK(split_no_proxy("").empty());
  CHECK(split_no_proxy(" , ").empty());
}

TEST_CASE("no_proxy_matches follows curl: domains with their subdomains, IPs, networks, *") {
  const std::vector<std::string> none;
  CHECK_FALSE(no_proxy_matches(none, "login.microsoftonline.com"));
  CHECK(no_proxy_matches({"*"}, "anything.example"));
  CHECK(no_proxy_matches({"*"}, "10.1.2.3"));
  // curl: "*" only as the whole list; inside a list it is a name like others.
  CHECK_FALSE(no_proxy_matches({"localhost", "*"}, "anything.example"));

  SUBCASE("names") {
    const std::vector<std::string> l{"example.com"};
    CHECK(no_proxy_matches(l, "example.com"));
    CHECK(no_proxy_matches(l, "www.example.com"));
    CHECK(no_proxy_matches(l, "a.b.example.com"));
    CHECK(no_proxy_matches(l, "WWW.Example.COM"));
    CHECK(no_proxy_matches(l, "example.com."));
    CHECK_FALSE(no_proxy_matches(l, "nonexample.com"));
    CHECK_FALSE(no_proxy_matches(l, "example.com.evil"));
    CHECK_FALSE(no_proxy_matches(l, "com"));
    const std::vector<std::string> dot{".example.com"};
    CHECK(no_proxy_matches(dot, "example.com"));  // curl ignores the leading dot
    CHECK(no_proxy_matches(dot, "smtp.example.com"));
    CHECK_FALSE(no_proxy_matches(dot, "xexample.com"));
    CHECK(no_proxy_matches({"Example.COM."}, "mail.example.com"));
    CHECK(no_proxy_matches({"office365.com", "localhost"}, "localhost"));
  }
  SUBCASE("addresses and networks") {
    CHECK(no_proxy_matches({"10.1.2.3"}, "10.1.2.3"));
    CHECK_FALSE(no_proxy_matches({"10.1.2.3"}, "10.1.2.4"));
    CHECK(no_proxy_matches({"10.0.0.0/8"}, "10.200.3.4"));
    CHECK_FALSE(no_proxy_matches({"10.0.0.0/8"}, "11.0.0.1"));
    CHECK(no_proxy_matches({"192.168.1.77/24"}, "192.168.1.5"));  // host bits ignored, as curl
    CHECK(no_proxy_matches({"::1"}, "::1"));
    CHECK(no_proxy_matches({"[::1]"}, "[::1]"));
    CHECK(no_proxy_matches({"fd00::/8"}, "fd12:3456::1"));
    CHECK_FALSE(no_proxy_matches({"fd00::/8"}, "fe80::1"));
    CHECK_FALSE(no_proxy_matches({"10.0.0.0/8"}, "2001:db8::1"));
    // A name entry never matches an address, nor an address entry a name.
    CHECK_FALSE(no_proxy_matches({"example.com"}, "10.0.0.1"));
    CHECK_FALSE(no_proxy_matches({"10.0.0.1"}, "ten.example.com"));
  }
}

TEST_CASE("a tenant's proxy: is used for every host, and proxy_for skips no_proxy hosts") {
  CleanEnv clean;
  Fixture f;
  auto r = f.load(tenant_with("    proxy: http://Proxy.Corp:3128\n"
                              "    no_proxy: [\".contoso.com\", 10.0.0.0/8]\n"));
  const Tenant t = contoso(r);
  REQUIRE(t.proxy);
  CHECK(t.proxy->url == "http://proxy.corp:3128");
  CHECK(t.proxy->origin == "tenants.contoso.proxy");
  CHECK_FALSE(t.proxy->auth_file);
  CHECK(t.proxy->credentials.empty());
  CHECK(t.no_proxy == std::vector<std::string>{".contoso.com", "10.0.0.0/8"});
  CHECK(t.proxy_for("login.microsoftonline.com") == &*t.proxy);
  CHECK(t.proxy_for("smtp.office365.com") == &*t.proxy);
  CHECK(t.proxy_for("mail.contoso.com") == nullptr);
  CHECK(t.proxy_for("10.9.9.9") == nullptr);
}

TEST_CASE("without proxy: the environment's HTTPS_PROXY and NO_PROXY apply, lower-case names first") {
  CleanEnv clean;
  Fixture f;
  {
    EnvVar proxy("HTTPS_PROXY", "http://envproxy.corp:8080");
    EnvVar no("NO_PROXY", "localhost,.internal");
    const Tenant t = contoso(f.load(tenant_with("")));
    REQUIRE(t.proxy);
    CHECK(t.proxy->url == "http://envproxy.corp:8080");
    CHECK(t.proxy->origin == "HTTPS_PROXY");
    CHECK(t.no_proxy == std::vector<std::string>{"localhost", ".internal"});
    CHECK(t.proxy_for("db.internal") == nullptr);
    CHECK(t.proxy_for("login.microsoftonline.com") != nullptr);
  }
  {
    EnvVar upper("HTTPS_PROXY", "http://upper:1");
    EnvVar lower("https_proxy", "lower:2");
    EnvVar no("no_proxy", "a.example");
    EnvVar no_upper("NO_PROXY", "b.example");
    auto r = f.load(tenant_with(""));
    const Tenant t = contoso(r);
    REQUIRE(t.proxy);
    CHECK(t.proxy->url == "http://lower:2");
    CHECK(t.proxy->origin == "https_proxy");
    CHECK(t.no_proxy == std::vector<std::string>{"a.example"});
  }
  {
    EnvVar lower("https_proxy", "");  // empty counts as unset, as in curl
    EnvVar upper("HTTPS_PROXY", "http://upper:1");
    const Tenant t = contoso(f.load(tenant_with("")));
    REQUIRE(t.proxy);
    CHECK(t.proxy->origin == "HTTPS_PROXY");
  }
  const Tenant direct = contoso(f.load(tenant_with("")));
  CHECK_FALSE(direct.proxy);
  CHECK(direct.proxy_for("login.microsoftonline.com") == nullptr);
}

TEST_CASE("proxy: none or direct ignores HTTPS_PROXY; a written proxy: wins over it") {
  CleanEnv clean;
  EnvVar proxy("HTTPS_PROXY", "http://envproxy.corp:8080");
  EnvVar no("NO_PROXY", "from-env.example");
  Fixture f;
  CHECK_FALSE(contoso(f.load(tenant_with("    proxy: none\n"))).proxy);
  CHECK_FALSE(contoso(f.load(tenant_with("    proxy: direct\n"))).proxy);
  auto r = f.load(tenant_with("    proxy: http://mine:3128\n"));
  const Tenant t = contoso(r);
  REQUIRE(t.proxy);
  CHECK(t.proxy->url == "http://mine:3128");
  // NO_PROXY still applies unless the tenant writes its own list.
  CHECK(t.no_proxy == std::vector<std::string>{"from-env.example"});
  CHECK(contoso(f.load(tenant_with("    proxy: http://mine:3128\n    no_proxy: []\n"))).no_proxy.empty());
}

TEST_CASE("an https:// or credential-bearing proxy: is an error at its place") {
  CleanEnv clean;
  Fixture f;
  auto https = f.load(tenant_with("    proxy: https://proxy.corp:3128\n"));
  CHECK(contains(expect_error(https, "tenants.contoso.proxy", 6, 12), "only http:// proxies are supported"));
  auto creds = f.load(tenant_with("    proxy: http://alice:" + kProxyPassword + "@proxy.corp:3128\n"));
  std::string msg = expect_error(creds, "tenants.contoso.proxy", 6, 12);
  CHECK(contains(msg, "proxy_auth_file"));
  CHECK_FALSE(contains(all_errors(creds), kProxyPassword));
  CHECK_FALSE(contains(all_errors(creds), "pr0xy"));
  auto empty = f.load(tenant_with("    proxy:\n"));
  CHECK_FALSE(empty.config);
  CHECK(error_for(empty, "tenants.contoso.proxy") != nullptr);
}

TEST_CASE("a broken HTTPS_PROXY is an error naming the variable, never its password") {
  CleanEnv clean;
  Fixture f;
  {
    EnvVar proxy("HTTPS_PROXY", "http://alice:" + kProxyPassword + "@proxy.corp:3128");
    auto r = f.load(tenant_with(""));
    std::string msg = expect_error(r, "tenants.contoso.proxy", 2, 3);
    CHECK(contains(msg, "HTTPS_PROXY"));
    CHECK(contains(msg, "proxy_auth_file"));
    CHECK(contains(msg, "proxy: none"));
    CHECK_FALSE(contains(all_errors(r), kProxyPassword));
    // proxy: none leaves the environment alone, so the same relay loads.
    CHECK(f.load(tenant_with("    proxy: none\n")).config);
  }
  {
    EnvVar proxy("https_proxy", "https://proxy.corp:3128");
    auto r = f.load(tenant_with(""));
    std::string msg = expect_error(r, "tenants.contoso.proxy", 2, 3);
    CHECK(contains(msg, "https_proxy from the relay's environment"));
    CHECK(contains(msg, "only http://"));
  }
}

TEST_CASE("no_proxy: entries are checked") {
  CleanEnv clean;
  Fixture f;
  auto r = f.load(tenant_with("    proxy: http://p:3128\n    no_proxy: [\"a.example, b.example\", \"bad name\", \"x/y\"]\n"));
  CHECK_FALSE(r.config);
  CHECK(error_for(r, "tenants.contoso.no_proxy[0]") != nullptr);
  CHECK(error_for(r, "tenants.contoso.no_proxy[1]") != nullptr);
  CHECK(error_for(r, "tenants.contoso.no_proxy[2]") != nullptr);
  auto ok = f.load(tenant_with("    proxy: http://p:3128\n    no_proxy: [\"*\", localhost, .corp, 10.0.0.0/8, "
                               "\"[::1]\", \"fd00::/8\", 192.168.1.1]\n"));
  XR_INFO_ERRORS(ok);
  CHECK(ok.config);
  auto scalar = f.load(tenant_with("    proxy: http://p:3128\n    no_proxy: localhost\n"));
  CHECK(contains(expect_error(scalar, "tenants.contoso.no_proxy", 7, 15), "expected a list"));
}

TEST_CASE("proxy_auth_file supplies user:password for Basic auth") {
  CleanEnv clean;
  Fixture f;
  f.write("secrets/proxy.auth", "relay:" + kProxyPassword + "\n");
  auto r = f.load(tenant_with("    proxy: http://proxy.corp:3128\n    proxy_auth_file: secrets/proxy.auth\n"));
  const Tenant t = contoso(r);
  REQUIRE(t.proxy);
  CHECK(t.proxy->auth_file == f.abs("secrets/proxy.auth"));
  CHECK(t.proxy->credentials.reveal() == "relay:" + kProxyPassword);
  CHECK(t.proxy->url == "http://proxy.corp:3128");  // never the credentials
  CHECK(proxy_warnings(r).empty());
  // With the proxy from HTTPS_PROXY too.
  EnvVar proxy("HTTPS_PROXY", "http://envproxy:3128");
  const Tenant env = contoso(f.load(tenant_with("    proxy_auth_file: secrets/proxy.auth\n")));
  REQUIRE(env.proxy);
  CHECK(env.proxy->origin == "HTTPS_PROXY");
  CHECK(env.proxy->credentials.reveal() == "relay:" + kProxyPassword);
}

TEST_CASE("a bad proxy_auth_file is an error with file:line:column and the fix, never its contents") {
  CleanEnv clean;
  Fixture f;
  const std::string lines = "    proxy: http://proxy.corp:3128\n    proxy_auth_file: secrets/proxy.auth\n";
  const std::string path = f.abs("secrets/proxy.auth");
  SUBCASE("missing") {
    auto r = f.load(tenant_with(lines));
    std::string msg = expect_error(r, "tenants.contoso.proxy_auth_file", 7, 22);
    CHECK(contains(msg, "cannot open " + path));
    CHECK(contains(msg, "one line user:password"));
    CHECK(contains(all_errors(r), f.config_path() + ":7:22"));
  }
  SUBCASE("empty") {
    f.write("secrets/proxy.auth", "\n");
    std::string msg = expect_error(f.load(tenant_with(lines)), "tenants.contoso.proxy_auth_file", 7, 22);
    CHECK(msg == path + " is empty; write one line user:password in it");
  }
  SUBCASE("no colon") {
    f.write("secrets/proxy.auth", kProxyPassword.substr(0, 5) + "\n");
    auto r = f.load(tenant_with(lines));
    CHECK(contains(expect_error(r, "tenants.contoso.proxy_auth_file", 7, 22), "has no ':'"));
    CHECK_FALSE(contains(all_errors(r), kProxyPassword.substr(0, 5)));
  }
  SUBCASE("no user name") {
    f.write("secrets/proxy.auth", ":" + kProxyPassword + "\n");
    auto r = f.load(tenant_with(lines));
    CHECK(contains(expect_error(r, "tenants.contoso.proxy_auth_file", 7, 22), "no user name"));
    CHECK_FALSE(contains(all_errors(r), kProxyPassword));
  }
  SUBCASE("two lines") {
    f.write("secrets/proxy.auth", "relay:" + kProxyPassword + "\nother:line\n");
    auto r = f.load(tenant_with(lines));
    CHECK(contains(expect_error(r, "tenants.contoso.proxy_auth_file", 7, 22), "more than one line"));
    CHECK_FALSE(contains(all_errors(r), kProxyPassword));
  }
  SUBCASE("readable by others, as client_secret_file") {
    f.write("secrets/proxy.auth", "relay:" + kProxyPassword + "\n");
    ::chmod(path.c_str(), 0644);
    auto r = f.load(tenant_with(lines));
    CHECK(expect_error(r, "tenants.contoso.proxy_auth_file", 7, 22) ==
          "`" + path + "` is readable by others (mode 0644); run: chmod 600 " + path);
    CHECK_FALSE(contains(all_errors(r), kProxyPassword));
  }
}

TEST_CASE("a proxy password ending in white space is loaded as written, with a warning") {
  CleanEnv clean;
  Fixture f;
  f.write("secrets/proxy.auth", "relay:" + kProxyPassword + " \n");
  auto r = f.load(tenant_with("    proxy: http://proxy.corp:3128\n    proxy_auth_file: secrets/proxy.auth\n"));
  CHECK(contoso(r).proxy->credentials.reveal() == "relay:" + kProxyPassword + " ");
  const auto warnings = proxy_warnings(r);
  REQUIRE(warnings.size() == 1);
  CHECK(contains(warnings[0].message, "ends in white space"));
  CHECK_FALSE(contains(warnings[0].message, kProxyPassword));
}

TEST_CASE("proxy_auth_file with proxy: none is an error; without any proxy a warning") {
  CleanEnv clean;
  Fixture f;
  f.write("secrets/proxy.auth", "relay:" + kProxyPassword + "\n");
  auto none = f.load(tenant_with("    proxy: none\n    proxy_auth_file: secrets/proxy.auth\n"));
  CHECK(contains(expect_error(none, "tenants.contoso.proxy_auth_file", 7, 5), "connects directly"));
  auto alone = f.load(tenant_with("    proxy_auth_file: secrets/proxy.auth\n"));
  const Tenant t = contoso(alone);
  CHECK_FALSE(t.proxy);
  const auto warnings = proxy_warnings(alone);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].key == "tenants.contoso.proxy_auth_file");
  CHECK(contains(warnings[0].message, "HTTPS_PROXY is not set"));
  // A broken proxy: already said what is wrong: no warning on top.
  auto broken = f.load(tenant_with("    proxy: https://p:1\n    proxy_auth_file: secrets/proxy.auth\n"));
  CHECK(proxy_warnings(broken).empty());
  CHECK(broken.errors.size() == 1);
}
