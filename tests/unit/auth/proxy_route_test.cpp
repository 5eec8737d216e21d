// Token requests and the outbound proxy: which proxy a request names (the
// tenant's, unless NO_PROXY lists the token host), what a failure at the
// proxy hop becomes (naming the proxy, with the fix, never a credential), and
// a changed proxy counting as a changed tenant on reload.
#include "auth/proxy_route.hpp"
#include "auth/token_identity.hpp"
#include "auth/token_provider.hpp"
#include "auth/token_request.hpp"

#include "tests/unit/auth/test_tenant.hpp"

#include <doctest/doctest.h>

#include <condition_variable>
#include <mutex>

using namespace xr;
using namespace xr::auth;
using namespace std::chrono_literals;

namespace {

const std::string kProxyPassword = "pr0xy-Pa:ss";

conf::EgressProxy proxy(const std::string& url, const std::string& credentials = "") {
  conf::EgressProxy p;
  REQUIRE_FALSE(conf::parse_proxy_url(url, p));
  p.origin = "tenants.contoso.proxy";
  p.credentials = conf::Secret(credentials);
  if (!credentials.empty()) p.auth_file = "/etc/xoauth2-relay/proxy.auth";
  return p;
}

conf::Tenant proxied_tenant(const std::string& credentials = "relay:" + kProxyPassword) {
  auto t = xr::test::secret_tenant("s1");
  t.proxy = proxy("http://proxy.corp:3128", credentials);
  return t;
}

std::vector<std::string> changed(const conf::Tenant& before, const conf::Tenant& after) {
  return changed_tenants(token_identities({{"contoso", before}}), token_identities({{"contoso", after}}));
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("https_target reads host and port as CONNECT names them") {
  CHECK(https_target("https://login.microsoftonline.com/tid/oauth2/v2.0/token").to_string() ==
        "login.microsoftonline.com:443");
  CHECK(https_target("https://127.0.0.1:8443/tid/oauth2/v2.0/token").to_string() == "127.0.0.1:8443");
  auto v6 = https_target("https://[::1]:9443/x");
  CHECK(v6.host == "::1");
  CHECK(v6.port == 9443);
  CHECK(v6.to_string() == "[::1]:9443");
  CHECK(https_target("https://h").to_string() == "h:443");
}

TEST_CASE("a token request names the tenant's proxy and credentials; NO_PROXY and no proxy mean direct") {
  HttpRequest req;
  TokenError err;
  auto t = proxied_tenant();
  REQUIRE(build_token_request(t, Clock::now(), req, err));
  CHECK(req.proxy_url == "http://proxy.corp:3128");
  CHECK(req.proxy_credentials.reveal() == "relay:" + kProxyPassword);

  t.no_proxy = {".microsoftonline.com"};
  HttpRequest direct;
  REQUIRE(build_token_request(t, Clock::now(), direct, err));
  CHECK(direct.proxy_url.empty());
  CHECK(direct.proxy_credentials.empty());

  HttpRequest none;
  REQUIRE(build_token_request(xr::test::secret_tenant("s1"), Clock::now(), none, err));
  CHECK(none.proxy_url.empty());
}

TEST_CASE("a failure at the proxy hop becomes an error naming the proxy, with the fix for 407 and 403") {
  HttpResponse resp;
  resp.proxy_failed = true;
  resp.proxy_status = 407;
  resp.transport_error = "proxy http://127.0.0.1:3128 refused CONNECT to login.microsoftonline.com:443: HTTP 407";
  auto r = parse_token_response(resp, Clock::now());
  REQUIRE_FALSE(r.ok);
  CHECK(r.error.summary == resp.transport_error);
  CHECK(contains(r.error.fix, "proxy_auth_file"));
  CHECK_FALSE(r.error.transient);
  CHECK(r.error.http_status == 0);  // the endpoint never answered

  resp.proxy_status = 403;
  r = parse_token_response(resp, Clock::now());
  CHECK(contains(r.error.fix, "allow CONNECT"));
  CHECK(contains(r.error.fix, "no_proxy"));
  CHECK_FALSE(r.error.transient);

  resp.proxy_status = 0;
  resp.transport_error = "cannot connect to proxy http://127.0.0.1:3128: Connection refused";
  r = parse_token_response(resp, Clock::now());
  CHECK(r.error.summary == resp.transport_error);
  CHECK(contains(r.error.fix, "HTTPS_PROXY"));
  CHECK(r.error.transient);

  resp.proxy_status = 401;  // tinyproxy's answer to rejected credentials
  CHECK(contains(parse_token_response(resp, Clock::now()).error.fix, "proxy_auth_file"));
  CHECK_FALSE(parse_token_response(resp, Clock::now()).error.transient);
  resp.proxy_status = 502;
  CHECK(parse_token_response(resp, Clock::now()).error.transient);

  // Without the proxy flag it stays the endpoint's failure.
  HttpResponse endpoint;
  endpoint.transport_error = "Connection refused";
  CHECK(contains(parse_token_response(endpoint, Clock::now()).error.summary, "token endpoint unreachable"));
}

TEST_CASE("a changed proxy or proxy password is a changed tenant; an unchanged one is not") {
  CHECK(changed(proxied_tenant(), proxied_tenant()).empty());
  CHECK(changed(xr::test::secret_tenant("s1"), proxied_tenant()) == std::vector<std::string>{"contoso"});
  CHECK(changed(proxied_tenant(), xr::test::secret_tenant("s1")) == std::vector<std::string>{"contoso"});
  CHECK(changed(proxied_tenant("relay:old"), proxied_tenant("relay:new")) == std::vector<std::string>{"contoso"});
  auto other = proxied_tenant();
  other.proxy = proxy("http://proxy.corp:8080", "relay:" + kProxyPassword);
  CHECK(changed(proxied_tenant(), other) == std::vector<std::string>{"contoso"});
  // NO_PROXY taking the token host out of the proxy changes the route too.
  auto bypass = proxied_tenant();
  bypass.no_proxy = {"login.microsoftonline.com"};
  CHECK(changed(proxied_tenant(), bypass) == std::vector<std::string>{"contoso"});
  // A NO_PROXY entry for mail hosts only does not.
  auto mail_only = proxied_tenant();
  mail_only.no_proxy = {"smtp.office365.com"};
  CHECK(changed(proxied_tenant(), mail_only).empty());
  // The identity holds a digest, never the password.
  auto id = token_identity(proxied_tenant());
  CHECK(id.proxy_url == "http://proxy.corp:3128");
  CHECK(id.proxy_credential_digest.size() == 64);
  CHECK_FALSE(contains(id.proxy_credential_digest, kProxyPassword));
}

namespace {

// Answers every request at once with `answer` and keeps what the provider
// asked for (the proxy fields).
class ProxyRecordingHttp : public HttpClient {
 public:
  explicit ProxyRecordingHttp(HttpResponse answer) : answer_(std::move(answer)) {}
  HttpResponse post_form(const HttpRequest& req) override {
    std::lock_guard g(mutex);
    proxy_urls.push_back(req.proxy_url);
    credentials.push_back(req.proxy_credentials.reveal());
    return answer_;
  }
  std::mutex mutex;
  std::vector<std::string> proxy_urls, credentials;

 private:
  HttpResponse answer_;
};

class Failures : public TokenObserver {
 public:
  void token_fetched(const std::string&, std::chrono::seconds, std::chrono::milliseconds) override {}
  void token_failed(const std::string&, const TokenError& e, const TokenFailure&) override {
    std::lock_guard g(mutex);
    summaries.push_back(e.summary);
  }
  std::mutex mutex;
  std::vector<std::string> summaries;
};

TokenResult get_token(TokenProvider& p) {
  std::mutex m;
  std::condition_variable cv;
  std::optional<TokenResult> got;
  p.get("contoso", [&](const TokenResult& r) {
    std::lock_guard g(m);
    got = r;
    cv.notify_all();
  });
  std::unique_lock lock(m);
  REQUIRE(cv.wait_for(lock, 5s, [&] { return got.has_value(); }));
  return *got;
}

}  // namespace

TEST_CASE("the token provider sends each request through the tenant's proxy") {
  auto http = std::make_unique<ProxyRecordingHttp>(
      HttpResponse{200, R"({"token_type":"Bearer","expires_in":3599,"access_token":"tok"})", ""});
  auto* seen = http.get();
  Failures observer;
  TokenProvider provider(std::move(http), observer);
  provider.set_tenants({{"contoso", proxied_tenant()}});
  REQUIRE(get_token(provider).ok);
  std::lock_guard g(seen->mutex);
  CHECK(seen->proxy_urls == std::vector<std::string>{"http://proxy.corp:3128"});
  CHECK(seen->credentials == std::vector<std::string>{"relay:" + kProxyPassword});
}

TEST_CASE("a proxy refusing CONNECT fails the fetch with its own words, not 'token endpoint unreachable'") {
  HttpResponse refused;
  refused.proxy_failed = true;
  refused.proxy_status = 403;
  refused.transport_error = "proxy http://proxy.corp:3128 refused CONNECT to login.microsoftonline.com:443: HTTP 403";
  auto http = std::make_unique<ProxyRecordingHttp>(refused);
  auto* seen = http.get();
  Failures observer;
  TokenProviderOptions o;
  o.backoff_initial = 1ms;
  TokenProvider provider(std::move(http), observer, o);
  provider.set_tenants({{"contoso", proxied_tenant()}});
  auto r = get_token(provider);
  REQUIRE_FALSE(r.ok);
  CHECK(r.error.summary == refused.transport_error);
  CHECK_FALSE(r.error.transient);
  {
    std::lock_guard g(seen->mutex);
    CHECK(seen->proxy_urls.size() == 1);  // not transient: no quick retries
  }
  std::lock_guard g(observer.mutex);
  REQUIRE(observer.summaries.size() == 1);
  CHECK(observer.summaries[0] == refused.transport_error);
}
