// Google's token endpoint answers, explained for the admin, and the token
// provider serving Google keys per mailbox.
#include "auth/google_token.hpp"
#include "auth/login_refusal.hpp"
#include "auth/token_provider.hpp"
#include "auth/token_request.hpp"

#include "tests/unit/auth/google_test_key.hpp"

#include <doctest/doctest.h>

#include <condition_variable>
#include <mutex>
#include <optional>

using namespace xr;
using namespace xr::auth;

namespace {

conf::Tenant google_tenant() {
  conf::Tenant t;
  t.name = "acme";
  t.provider = conf::Provider::google;
  t.scope = "https://mail.google.com/";
  conf::ServiceAccount sa;
  sa.client_email = xr::test::kGoogleClientEmail;
  sa.client_id = xr::test::kGoogleClientId;
  sa.private_key_id = xr::test::kGoogleKeyId;
  sa.private_key = conf::Secret(xr::test::google_test_key_pem());
  t.service_account = sa;
  return t;
}

TokenError google_answer(int status, const std::string& body, const std::string& mailbox = "scan@acme.com") {
  HttpResponse resp;
  resp.status = status;
  resp.body = body;
  auto r = parse_token_response(resp, Clock::now());
  REQUIRE_FALSE(r.ok);
  explain_google_error(TokenTarget{google_tenant(), mailbox}, r.error);
  return r.error;
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("unauthorized_client: the fix names the delegation page, the client ID and the scope") {
  auto e = google_answer(401, R"({"error":"unauthorized_client","error_description":"Client is unauthorized to )"
                              R"(retrieve access tokens using this method, or client not authorized for any of )"
                              R"(the scopes requested."})");
  CHECK(has(e.summary, "domain-wide delegation is missing"));
  CHECK(has(e.summary, "scan@acme.com"));
  CHECK(has(e.summary, "unauthorized_client"));
  CHECK(has(e.fix, "Security > API controls > Domain-wide delegation"));
  CHECK(has(e.fix, xr::test::kGoogleClientId));
  CHECK(has(e.fix, "https://mail.google.com/"));
  CHECK_FALSE(e.transient);
}

TEST_CASE("invalid_grant for an unknown mailbox names the mailbox") {
  auto e = google_answer(400, R"({"error":"invalid_grant","error_description":"Invalid email or User ID"})",
                         "nobody@acme.com");
  CHECK(has(e.summary, "does not know the mailbox nobody@acme.com"));
  CHECK(has(e.summary, "Invalid email or User ID"));
  CHECK(has(e.fix, "tenant acme"));
  CHECK_FALSE(e.transient);
}

TEST_CASE("invalid_grant for a bad signature points at the key and the clock") {
  auto e = google_answer(400, R"({"error":"invalid_grant","error_description":"Invalid JWT Signature."})");
  CHECK(has(e.summary, "Invalid JWT Signature."));
  CHECK(has(e.fix, xr::test::kGoogleKeyId));
  CHECK(has(e.fix, "clock"));
}

TEST_CASE("invalid_scope names the scope and the delegation page") {
  auto e = google_answer(400, R"({"error":"invalid_scope","error_description":"Invalid OAuth scope or ID token audience provided."})");
  CHECK(has(e.summary, "refused the scope https://mail.google.com/"));
  CHECK(has(e.fix, "Domain-wide delegation"));
}

TEST_CASE("Google's 5xx stays transient; an unreachable endpoint names token_uri") {
  CHECK(google_answer(503, R"({"error":"internal_failure"})").transient);
  HttpResponse down;
  down.status = 0;
  down.transport_error = "Connection refused";
  auto r = parse_token_response(down, Clock::now());
  explain_google_error(TokenTarget{google_tenant(), "scan@acme.com"}, r.error);
  CHECK(r.error.transient);
  CHECK(has(r.error.fix, "https://oauth2.googleapis.com/token"));
}

TEST_CASE("an error description is kept short and printable") {
  HttpResponse resp;
  resp.status = 400;
  resp.body = R"({"error":"invalid_grant","error_description":"a\nb)" + std::string(500, 'x') + "\"}";
  auto r = parse_token_response(resp, Clock::now());
  CHECK(r.error.description.size() == 200);
  CHECK(r.error.description.find('\n') == std::string::npos);
}

namespace {

class ScriptedHttp : public HttpClient {
 public:
  HttpResponse post_form(const HttpRequest& req) override {
    std::lock_guard g(mutex);
    urls.push_back(req.url);
    bodies.push_back(req.form_body);
    auto n = bodies.size();
    if (fail_sub && req.form_body.find(*fail_sub) != std::string::npos) {
      return {401, R"({"error":"unauthorized_client","error_description":"Client is unauthorized"})", ""};
    }
    return {200, R"({"access_token":"ya29.token-)" + std::to_string(n) + R"(","expires_in":3599,"token_type":"Bearer"})",
            ""};
  }
  void shutdown() override {}
  std::mutex mutex;
  std::vector<std::string> urls, bodies;
  std::optional<std::string> fail_sub;
};

class Quiet : public TokenObserver {
 public:
  void token_fetched(const std::string&, std::chrono::seconds, std::chrono::milliseconds) override {}
  void token_failed(const std::string& key, const TokenError& e, const TokenFailure&) override {
    std::lock_guard g(mutex);
    failed.emplace_back(key, e.summary + " | " + e.fix);
  }
  std::mutex mutex;
  std::vector<std::pair<std::string, std::string>> failed;
};

TokenResult get_now(TokenProvider& p, const std::string& key) {
  std::mutex m;
  std::condition_variable cv;
  std::optional<TokenResult> got;
  p.get(key, [&](const TokenResult& r) {
    std::lock_guard g(m);
    got = r;
    cv.notify_all();
  });
  std::unique_lock lock(m);
  REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return got.has_value(); }));
  return *got;
}

}  // namespace

TEST_CASE("the provider keeps one Google token per mailbox, and explains a missing delegation") {
  auto http = std::make_unique<ScriptedHttp>();
  auto* h = http.get();
  Quiet observer;
  TokenProviderOptions o;
  o.backoff_initial = std::chrono::milliseconds(1);
  TokenProvider provider(std::move(http), observer, o);
  conf::Config cfg;
  cfg.tenants["acme"] = google_tenant();
  for (const char* mb : {"scan@acme.com", "front@acme.com"}) {
    conf::User u;
    u.tenant = "acme";
    u.mailbox = mb;
    cfg.users[mb] = u;
  }
  provider.set_tenants(token_targets(cfg));
  auto a = get_now(provider, "acme/scan@acme.com");
  auto b = get_now(provider, "acme/front@acme.com");
  REQUIRE(a.ok);
  REQUIRE(b.ok);
  CHECK(a.token.value.reveal() != b.token.value.reveal());
  CHECK(get_now(provider, "acme/scan@acme.com").token.value.reveal() == a.token.value.reveal());  // cached
  {
    std::lock_guard g(h->mutex);
    REQUIRE(h->bodies.size() == 2);
    CHECK(h->urls[0] == "https://oauth2.googleapis.com/token");
    CHECK(h->bodies[0].find("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer") == 0);
  }
  CHECK_FALSE(provider.stats("acme").known);  // no bare tenant key for Google

  // A mailbox whose delegation is missing: every assertion names its sub.
  conf::User u;
  u.tenant = "acme";
  u.mailbox = "Boss@Acme.com";
  cfg.users["boss"] = u;
  auto changed = provider.set_tenants(token_targets(cfg));
  CHECK(changed == std::vector<std::string>{"acme/boss@acme.com"});
  {
    std::lock_guard g(h->mutex);
    h->fail_sub = "assertion=";  // every request from now on
  }
  auto c = get_now(provider, "acme/boss@acme.com");
  REQUIRE_FALSE(c.ok);
  CHECK(has(c.error.summary, "boss@acme.com"));
  CHECK(has(c.error.fix, "Domain-wide delegation"));
  CHECK(has(c.error.fix, xr::test::kGoogleClientId));
  CHECK(provider.stats("acme/scan@acme.com").usable);  // the others keep theirs
}

TEST_CASE("a refused login's likely cause is Google's set-up for a Google tenant, Exchange's otherwise") {
  smtp::Reply refused{535, {"5.7.8 Username and Password not accepted. For more information, go to"}};
  auto g = explain_smtp_login_reply(google_tenant(), refused);
  CHECK(has(g, "Domain-wide delegation"));
  CHECK(has(g, xr::test::kGoogleClientId));
  CHECK_FALSE(has(g, "SendAsApp"));
  CHECK(explain_smtp_login_reply(google_tenant(), smtp::Reply{421, {"4.7.0 Try again later"}}).empty());
  CHECK(has(google_login_refused_cause(google_tenant(), conf::Protocol::imap), "IMAP access"));
  CHECK(has(google_login_refused_cause(google_tenant(), conf::Protocol::pop3), "POP access"));
  conf::Tenant ms;
  ms.name = "contoso";
  CHECK(has(explain_smtp_login_reply(ms, smtp::Reply{535, {"5.7.3 Authentication unsuccessful"}}), "SMTP.SendAsApp"));
}
