#include "auth/token_provider.hpp"
#include "tests/unit/auth/test_tenant.hpp"

#include <doctest/doctest.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

using namespace xr;
using namespace xr::auth;
using namespace std::chrono_literals;

namespace {

// Answers token requests from a script; can hold requests at a gate to make
// callers pile up behind one fetch.
class FakeHttp : public HttpClient {
 public:
  HttpResponse post_form(const HttpRequest& req) override {
    std::unique_lock lock(mutex_);
    ++requests_;
    bodies_.push_back(req.form_body);
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_ || stopped_; });
    if (stopped_) return HttpResponse{0, "", "relay is stopping"};
    if (script_.empty()) return token(3599);
    auto r = script_.front();
    script_.pop_front();
    return r;
  }
  void shutdown() override {
    std::lock_guard g(mutex_);
    stopped_ = true;
    changed_.notify_all();
  }

  static HttpResponse token(int lifetime, const std::string& value = "tok") {
    return {200, R"({"token_type":"Bearer","expires_in":)" + std::to_string(lifetime) + R"(,"access_token":")" + value + "\"}",
            ""};
  }
  static HttpResponse error(int status, long aadsts) {
    return {status, R"({"error":"invalid_client","error_codes":[)" + std::to_string(aadsts) + "]}", ""};
  }
  void then(HttpResponse r) {
    std::lock_guard g(mutex_);
    script_.push_back(std::move(r));
  }
  void set_open(bool open) {
    std::lock_guard g(mutex_);
    open_ = open;
    changed_.notify_all();
  }
  bool wait_requests(int n, std::chrono::milliseconds limit = 5000ms) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return requests_ >= n; });
  }
  int requests() {
    std::lock_guard g(mutex_);
    return requests_;
  }
  std::string last_body() {
    std::lock_guard g(mutex_);
    return bodies_.empty() ? "" : bodies_.back();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<HttpResponse> script_;
  std::vector<std::string> bodies_;
  int requests_ = 0;
  bool open_ = true;
  bool stopped_ = false;
};

class RecordingObserver : public TokenObserver {
 public:
  void token_fetched(const std::string&, std::chrono::seconds, std::chrono::milliseconds) override {
    std::lock_guard g(mutex);
    ++fetched;
  }
  void token_failed(const std::string&, const TokenError& e, const TokenFailure& f) override {
    std::lock_guard g(mutex);
    failures.push_back({e.summary, f.attempt, f.will_retry, f.next_try});
  }
  void tokens_changed() override {
    std::lock_guard g(mutex);
    ++changes;
  }
  struct Failure {
    std::string summary;
    int attempt;
    bool will_retry;
    std::chrono::milliseconds next_try;
  };
  std::mutex mutex;
  int fetched = 0;
  int changes = 0;
  std::vector<Failure> failures;
};

// Collects callback results from any thread.
struct Results {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<TokenResult> got;
  TokenProvider::Callback callback() {
    return [this](const TokenResult& r) {
      std::lock_guard g(mutex);
      got.push_back(r);
      cv.notify_all();
    };
  }
  bool wait(std::size_t n, std::chrono::milliseconds limit = 5000ms) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, limit, [&] { return got.size() >= n; });
  }
  std::size_t size() {
    std::lock_guard g(mutex);
    return got.size();
  }
};

conf::Tenant tenant(const std::string& secret = "secret-1") { return xr::test::secret_tenant(secret); }

TokenProviderOptions fast() {
  TokenProviderOptions o;
  o.backoff_initial = 1ms;
  o.backoff_max = 4ms;
  return o;
}

struct Harness {
  explicit Harness(TokenProviderOptions o = fast()) {
    auto h = std::make_unique<FakeHttp>();
    http = h.get();
    provider = std::make_unique<TokenProvider>(std::move(h), observer, o);
    provider->set_tenants({{"contoso", tenant()}});
  }
  RecordingObserver observer;
  FakeHttp* http;  // owned by the provider
  std::unique_ptr<TokenProvider> provider;
};

}  // namespace

TEST_CASE("callers waiting on one tenant share one request") {
  Harness h;
  h.http->set_open(false);
  Results res;
  for (int i = 0; i < 10; ++i) h.provider->get("contoso", res.callback());
  REQUIRE(h.http->wait_requests(1));
  CHECK(res.size() == 0);
  h.http->set_open(true);
  REQUIRE(res.wait(10));
  for (auto& r : res.got) {
    CHECK(r.ok);
    CHECK(r.token.value.reveal() == "tok");
  }
  CHECK(h.http->requests() == 1);
  CHECK(h.provider->stats("contoso").requests == 1);
  CHECK(h.http->last_body().find("client_secret=secret-1") != std::string::npos);
}

TEST_CASE("a cached token is answered inline without a request") {
  Harness h;
  Results first;
  h.provider->get("contoso", first.callback());
  REQUIRE(first.wait(1));
  bool inline_answer = false;
  h.provider->get("contoso", [&](const TokenResult& r) { inline_answer = r.ok; });
  CHECK(inline_answer);
  CHECK(h.http->requests() == 1);
  CHECK(h.provider->stats("contoso").has_token);
}

TEST_CASE("transient failures are retried, then the token is delivered") {
  Harness h;
  h.http->then({503, "<html>busy</html>", ""});
  h.http->then({0, "", "Connection refused"});
  Results res;
  h.provider->get("contoso", res.callback());
  REQUIRE(res.wait(1));
  CHECK(res.got[0].ok);
  CHECK(h.http->requests() == 3);
  std::lock_guard g(h.observer.mutex);
  REQUIRE(h.observer.failures.size() == 2);
  CHECK(h.observer.failures[0].will_retry);
  CHECK(h.observer.failures[1].attempt == 2);
  CHECK(h.observer.fetched == 1);
}

TEST_CASE("transient failures give up after max_attempts") {
  auto o = fast();
  o.max_attempts = 3;
  Harness h(o);
  for (int i = 0; i < 5; ++i) h.http->then({503, "{}", ""});
  Results res;
  h.provider->get("contoso", res.callback());
  REQUIRE(res.wait(1));
  CHECK_FALSE(res.got[0].ok);
  CHECK(res.got[0].error.transient);
  CHECK(h.http->requests() == 3);
  std::lock_guard g(h.observer.mutex);
  CHECK_FALSE(h.observer.failures.back().will_retry);
  // The fetch gave up; the background tries again after retry_initial (±10 %).
  CHECK(h.observer.failures.back().next_try >= 4500ms);
  CHECK(h.observer.failures.back().next_try <= 5500ms);
}

TEST_CASE("a permanent error is not retried, and callers in the cooldown hear it without a request") {
  Harness h;
  h.http->then(FakeHttp::error(401, 7000215));
  Results res;
  h.provider->get("contoso", res.callback());
  REQUIRE(res.wait(1));
  CHECK_FALSE(res.got[0].ok);
  CHECK(res.got[0].error.summary == "AADSTS7000215 invalid client secret");
  CHECK(h.http->requests() == 1);
  h.provider->get("contoso", res.callback());
  REQUIRE(res.wait(2));
  CHECK(res.got[1].error.summary == "AADSTS7000215 invalid client secret");
  CHECK(h.http->requests() == 1);
  CHECK(h.provider->stats("contoso").failures == 1);
}

TEST_CASE("a reload with the same credentials keeps the token; a new secret fetches again") {
  Harness h;
  Results res;
  h.provider->get("contoso", res.callback());
  REQUIRE(res.wait(1));
  auto same = tenant();
  same.smtp.port = 2525;  // not part of the token's identity
  h.provider->set_tenants({{"contoso", same}});
  h.provider->get("contoso", res.callback());
  REQUIRE(res.wait(2));
  CHECK(h.http->requests() == 1);

  h.provider->set_tenants({{"contoso", tenant("secret-2")}});
  h.provider->get("contoso", res.callback());
  REQUIRE(res.wait(3));
  CHECK(h.http->requests() == 2);
  CHECK(h.http->last_body().find("client_secret=secret-2") != std::string::npos);
}

TEST_CASE("a reload also clears a cooldown when the credentials changed") {
  Harness h;
  h.http->then(FakeHttp::error(401, 7000215));
  Results res;
  h.provider->get("contoso", res.callback());
  REQUIRE(res.wait(1));
  h.provider->set_tenants({{"contoso", tenant("fixed")}});
  h.provider->get("contoso", res.callback());
  REQUIRE(res.wait(2));
  CHECK(res.got[1].ok);
}

TEST_CASE("an unknown tenant is a failure at once") {
  Harness h;
  bool answered = false;
  h.provider->get("fabrikam", [&](const TokenResult& r) {
    answered = true;
    CHECK_FALSE(r.ok);
    CHECK(r.error.summary.find("fabrikam") != std::string::npos);
  });
  CHECK(answered);
  CHECK(h.http->requests() == 0);
}

TEST_CASE("a token is refreshed in the background before it expires") {
  Harness h;
  h.http->then(FakeHttp::token(2, "short"));
  h.http->then(FakeHttp::token(3599, "long"));
  Results res;
  h.provider->get("contoso", res.callback());
  REQUIRE(res.wait(1));
  CHECK(res.got[0].token.value.reveal() == "short");
  // Nobody asks: the provider refreshes on its own ahead of expiry (at 1.5 s).
  REQUIRE(h.http->wait_requests(2, 5000ms));
  std::this_thread::sleep_for(100ms);
  bool fresh = false;
  h.provider->get("contoso", [&](const TokenResult& r) { fresh = r.ok && r.token.value.reveal() == "long"; });
  CHECK(fresh);
}

TEST_CASE("a failed background refresh keeps serving the still-valid token") {
  Harness h;
  h.http->then(FakeHttp::token(4, "first"));
  h.http->then(FakeHttp::error(401, 7000222));
  Results res;
  h.provider->get("contoso", res.callback());
  REQUIRE(res.wait(1));
  REQUIRE(h.http->wait_requests(2, 5000ms));  // the refresh at 3 s, refused
  std::this_thread::sleep_for(100ms);
  bool still = false;
  h.provider->get("contoso", [&](const TokenResult& r) { still = r.ok && r.token.value.reveal() == "first"; });
  CHECK(still);
}

TEST_CASE("stopping the provider answers every waiter") {
  Results res;
  {
    Harness h;
    h.http->set_open(false);
    h.provider->get("contoso", res.callback());
    h.provider->get("contoso", res.callback());
    REQUIRE(h.http->wait_requests(1));
    h.provider.reset();
  }
  REQUIRE(res.size() == 2);
  CHECK_FALSE(res.got[0].ok);
  CHECK_FALSE(res.got[1].ok);
}

// --- issue 15: tokens fetched at start and after a reload, retried in the background

namespace {

TokenProviderOptions fast_retry() {
  auto o = fast();
  o.retry_initial = 20ms;
  o.retry_max = 80ms;
  return o;
}

// Polls stats() until `pred` holds (the provider answers on its own threads).
template <typename Pred>
bool eventually(TokenProvider& p, Pred pred, std::chrono::milliseconds limit = 5000ms) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred(p.stats("contoso"))) return true;
    std::this_thread::sleep_for(2ms);
  }
  return false;
}

}  // namespace

TEST_CASE("fetch_soon fetches without a caller, and the first get() is answered from that token") {
  Harness h;
  CHECK(h.http->requests() == 0);  // installing tenants alone fetches nothing
  h.provider->fetch_soon("contoso");
  REQUIRE(eventually(*h.provider, [](const auto& s) { return s.usable; }));
  bool inline_answer = false;
  h.provider->get("contoso", [&](const TokenResult& r) { inline_answer = r.ok; });
  CHECK(inline_answer);
  CHECK(h.http->requests() == 1);
  h.provider->fetch_soon("contoso");  // a usable token: nothing to do
  std::this_thread::sleep_for(20ms);
  CHECK(h.http->requests() == 1);
  std::lock_guard g(h.observer.mutex);
  CHECK(h.observer.fetched == 1);
  CHECK(h.observer.changes == 1);
}

TEST_CASE("fetch_soon while a fetch is in flight sends no second request") {
  Harness h;
  h.http->set_open(false);
  h.provider->fetch_soon("contoso");
  REQUIRE(h.http->wait_requests(1));
  h.provider->fetch_soon("contoso");
  Results res;
  h.provider->get("contoso", res.callback());
  CHECK(h.provider->stats("contoso").fetching);
  h.http->set_open(true);
  REQUIRE(res.wait(1));
  CHECK(res.got[0].ok);
  CHECK(h.http->requests() == 1);
}

TEST_CASE("a failed fetch is retried in the background with a doubling backoff until it succeeds") {
  Harness h(fast_retry());
  for (int i = 0; i < 3; ++i) h.http->then(FakeHttp::error(401, 7000215));
  h.provider->fetch_soon("contoso");
  REQUIRE(eventually(*h.provider, [](const auto& s) { return s.last_failed && !s.fetching; }));
  auto st = h.provider->stats("contoso");
  CHECK_FALSE(st.usable);
  REQUIRE(st.last_error);
  CHECK(st.last_error->summary == "AADSTS7000215 invalid client secret");
  CHECK(st.next_try.has_value());
  // Nobody asks; the fourth request (the script's default) succeeds.
  REQUIRE(eventually(*h.provider, [](const auto& s) { return s.usable; }));
  CHECK(h.http->requests() == 4);
  auto ok = h.provider->stats("contoso");
  CHECK_FALSE(ok.last_failed);
  CHECK_FALSE(ok.next_try.has_value());
  std::lock_guard g(h.observer.mutex);
  REQUIRE(h.observer.failures.size() == 3);
  // 20 ms, 40 ms, 80 ms (±10 %), each one fetch that gave up at once.
  CHECK(h.observer.failures[0].next_try >= 18ms);
  CHECK(h.observer.failures[0].next_try <= 22ms);
  CHECK(h.observer.failures[1].next_try >= 36ms);
  CHECK(h.observer.failures[1].next_try <= 44ms);
  CHECK(h.observer.failures[2].next_try >= 72ms);
  CHECK(h.observer.failures[2].next_try <= 88ms);
  CHECK(h.observer.fetched == 1);
  CHECK(h.observer.changes == 4);
}

TEST_CASE("the background backoff stops at retry_max") {
  auto o = fast_retry();
  o.retry_max = 30ms;
  Harness h(o);
  for (int i = 0; i < 4; ++i) h.http->then(FakeHttp::error(401, 7000215));
  h.provider->fetch_soon("contoso");
  REQUIRE(eventually(*h.provider, [](const auto& s) { return s.usable; }));
  std::lock_guard g(h.observer.mutex);
  REQUIRE(h.observer.failures.size() == 4);
  CHECK(h.observer.failures[3].next_try <= 33ms);
}

TEST_CASE("set_tenants names the tenants that are new or changed") {
  auto h = std::make_unique<FakeHttp>();
  RecordingObserver observer;
  TokenProvider provider(std::move(h), observer, fast());
  CHECK(provider.set_tenants({{"contoso", tenant()}}) == std::vector<std::string>{"contoso"});
  auto same = tenant();
  same.smtp.port = 2525;
  CHECK(provider.set_tenants({{"contoso", same}}).empty());
  auto other = tenant();
  other.name = "fabrikam";
  CHECK(provider.set_tenants({{"contoso", same}, {"fabrikam", other}}) == std::vector<std::string>{"fabrikam"});
  CHECK(provider.set_tenants({{"contoso", tenant("secret-2")}, {"fabrikam", other}}) ==
        std::vector<std::string>{"contoso"});
  CHECK(provider.stats("contoso").known);
  CHECK_FALSE(provider.stats("nobody").known);
}

TEST_CASE("invalidate drops the cached token and fetches a new one (Graph's 401)") {
  Harness h;
  Results first;
  h.http->then(FakeHttp::token(3599, "old"));
  h.provider->get("contoso", first.callback());
  REQUIRE(first.wait(1));
  CHECK(first.got[0].token.value.reveal() == "old");
  h.http->set_open(false);
  h.http->then(FakeHttp::token(3599, "new"));
  h.provider->invalidate("contoso", xr::conf::Secret("not-the-cached-one"));  // a late 401 for an older token
  CHECK(h.provider->stats("contoso").has_token);
  CHECK(h.http->requests() == 1);
  h.provider->invalidate("contoso", first.got[0].token.value);
  REQUIRE(h.http->wait_requests(2));
  // The old token is gone: a caller now waits for the fetch in flight.
  Results second;
  h.provider->get("contoso", second.callback());
  CHECK(second.size() == 0);
  CHECK_FALSE(h.provider->stats("contoso").has_token);
  h.http->set_open(true);
  REQUIRE(second.wait(1));
  CHECK(second.got[0].token.value.reveal() == "new");
  CHECK(h.http->requests() == 2);
  h.provider->invalidate("nobody", xr::conf::Secret("x"));  // an unknown key is ignored
}

TEST_CASE("keys of one tenant are cached apart") {
  Harness h;
  auto graph = tenant();
  graph.scope = "https://graph.microsoft.com/.default";
  h.provider->set_tenants({{"contoso", tenant()}, {"contoso/graph", graph}});
  h.http->then(FakeHttp::token(3599, "exchange"));
  h.http->then(FakeHttp::token(3599, "graph"));
  Results a, b;
  h.provider->get("contoso", a.callback());
  REQUIRE(a.wait(1));
  h.provider->get("contoso/graph", b.callback());
  REQUIRE(b.wait(1));
  CHECK(a.got[0].token.value.reveal() == "exchange");
  CHECK(b.got[0].token.value.reveal() == "graph");
  CHECK(h.http->last_body().find("scope=https%3A%2F%2Fgraph.microsoft.com%2F.default") != std::string::npos);
}
