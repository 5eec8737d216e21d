#include "auth/token_provider.hpp"

#include "auth/token_request.hpp"
#include "protocols/secret.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

namespace xr::auth {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::seconds;

// After a fetch failed for good, callers get that failure at once for a
// while instead of each starting a request: during an outage the endpoint sees
// a trickle, not one request per printer.
constexpr seconds kCooldownTransient{2};
constexpr seconds kCooldownPermanent{10};

TokenResult failure(std::string summary, std::string fix, bool transient) {
  TokenResult r;
  r.error.summary = std::move(summary);
  r.error.fix = std::move(fix);
  r.error.transient = transient;
  return r;
}

bool same_identity(const conf::Tenant& a, const conf::Tenant& b) {
  auto cert_paths = [](const conf::Tenant& t) {
    return t.certificate ? t.certificate->cert_file + "\n" + t.certificate->key_file : std::string();
  };
  return a.tenant_id == b.tenant_id && a.client_id == b.client_id && a.client_secret == b.client_secret &&
         cert_paths(a) == cert_paths(b) && a.authority == b.authority && a.scope == b.scope &&
         a.ca_file == b.ca_file;
}

}  // namespace

struct TokenProvider::Impl {
  struct TenantState {
    explicit TenantState(conf::Tenant c) : cfg(std::move(c)) {}
    const conf::Tenant cfg;  // immutable: read by workers without the lock
    std::optional<AccessToken> token;
    Clock::time_point refresh_at{};
    bool fetching = false;
    std::vector<Callback> waiters;
    std::optional<TokenError> last_error;
    Clock::time_point quiet_until{};  // cooldown after a failed fetch
    std::uint64_t requests = 0;
    std::uint64_t failures = 0;
  };
  using StatePtr = std::shared_ptr<TenantState>;

  Impl(std::unique_ptr<HttpClient> h, TokenObserver& o, TokenProviderOptions opts)
      : http(std::move(h)), observer(o), options(opts), rng(std::random_device{}()) {}

  std::unique_ptr<HttpClient> http;
  TokenObserver& observer;
  const TokenProviderOptions options;

  mutable std::mutex mutex;
  std::condition_variable wake;
  std::map<std::string, StatePtr> tenants;
  std::deque<std::pair<std::string, StatePtr>> queue;  // fetches callers wait for
  bool stopping = false;
  std::mt19937_64 rng;  // jitter; used under the lock
  std::vector<std::thread> workers;

  // A token is handed out only while it has a margin left, so a session does
  // not start upstream with a token that dies during the login.
  static bool usable(const AccessToken& t, Clock::time_point now) {
    auto margin = std::min<Clock::duration>(seconds(60), (t.expires_at - t.fetched_at) / 10);
    return now + margin < t.expires_at;
  }

  Clock::time_point refresh_time(const AccessToken& t) const {
    auto lifetime = t.expires_at - t.fetched_at;
    auto ahead = std::min<Clock::duration>(options.refresh_window,
                                           duration_cast<Clock::duration>(lifetime * options.refresh_fraction));
    return t.expires_at - ahead;
  }

  milliseconds backoff(int attempt) {
    milliseconds base = options.backoff_initial * (1 << std::min(attempt - 1, 16));
    base = std::min(base, options.backoff_max);
    std::uniform_real_distribution<double> jitter(0.75, 1.25);
    return milliseconds(static_cast<std::int64_t>(static_cast<double>(base.count()) * jitter(rng)));
  }

  void worker() {
    std::unique_lock lock(mutex);
    while (!stopping) {
      if (!queue.empty()) {
        auto [name, st] = std::move(queue.front());
        queue.pop_front();
        lock.unlock();
        fetch(name, st);
        lock.lock();
        continue;
      }
      // Background refresh: the tenant whose refresh time comes first.
      std::string due_name;
      StatePtr due;
      for (auto& [name, st] : tenants) {
        if (st->token && !st->fetching && (!due || st->refresh_at < due->refresh_at)) {
          due_name = name;
          due = st;
        }
      }
      if (!due) {
        wake.wait(lock);
      } else if (Clock::now() < due->refresh_at) {
        wake.wait_until(lock, due->refresh_at);
      } else {
        due->fetching = true;
        lock.unlock();
        fetch(due_name, due);
        lock.lock();
      }
    }
  }

  // One fetch with its retries; answers every waiter of `st` at the end.
  void fetch(const std::string& name, const StatePtr& st) {
    for (int attempt = 1;; ++attempt) {
      auto started = Clock::now();
      TokenResult r;
      HttpRequest req;
      req.connect_timeout = options.http_connect_timeout;
      req.total_timeout = options.http_total_timeout;
      if (build_token_request(st->cfg, started, req, r.error)) {
        {
          std::lock_guard g(mutex);
          ++st->requests;
        }
        HttpResponse resp = http->post_form(req);
        r = consume_token_response(resp, Clock::now());
      }
      wipe_secret(req.form_body);

      if (r.ok) {
        auto now = Clock::now();
        observer.token_fetched(name, duration_cast<seconds>(r.token.expires_at - now),
                               duration_cast<milliseconds>(now - started));
        std::vector<Callback> waiters;
        {
          std::lock_guard g(mutex);
          st->token = r.token;
          st->refresh_at = refresh_time(r.token);
          st->fetching = false;
          st->last_error.reset();
          waiters.swap(st->waiters);
        }
        wake.notify_all();  // the refresh schedule changed
        for (auto& cb : waiters) cb(r);
        return;
      }

      bool retry;
      {
        std::lock_guard g(mutex);
        ++st->failures;
        retry = r.error.transient && attempt < options.max_attempts && !stopping;
      }
      observer.token_failed(name, r.error, attempt, retry);
      if (retry) {
        std::unique_lock lock(mutex);
        auto delay = backoff(attempt);
        if (wake.wait_for(lock, delay, [this] { return stopping; })) retry = false;
      }
      if (!retry) {
        finish_failed(st, r);
        return;
      }
    }
  }

  void finish_failed(const StatePtr& st, const TokenResult& r) {
    std::vector<Callback> waiters;
    std::optional<TokenResult> still_valid;
    {
      std::lock_guard g(mutex);
      auto now = Clock::now();
      st->fetching = false;
      st->last_error = r.error;
      st->quiet_until = now + (r.error.transient ? kCooldownTransient : kCooldownPermanent);
      if (st->token && usable(*st->token, now)) {
        // A background refresh failed but the token still has time: keep
        // using it and try again in a while.
        auto left = st->token->expires_at - now;
        st->refresh_at = now + std::clamp<Clock::duration>(left / 4, seconds(1), seconds(60));
        still_valid.emplace();
        still_valid->ok = true;
        still_valid->token = *st->token;
      } else {
        st->token.reset();
      }
      waiters.swap(st->waiters);
    }
    wake.notify_all();
    for (auto& cb : waiters) cb(still_valid ? *still_valid : r);
  }
};

TokenProvider::TokenProvider(std::unique_ptr<HttpClient> http, TokenObserver& observer,
                             TokenProviderOptions options)
    : impl_(std::make_unique<Impl>(std::move(http), observer, options)) {
  for (int i = 0; i < std::max(1, options.worker_threads); ++i)
    impl_->workers.emplace_back([this] { impl_->worker(); });
}

TokenProvider::~TokenProvider() {
  {
    std::lock_guard g(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->http->shutdown();
  impl_->wake.notify_all();
  for (auto& t : impl_->workers) t.join();
  // Nobody fetches any more: whoever still waits hears so.
  std::vector<Callback> waiters;
  for (auto& [name, st] : impl_->tenants)
    for (auto& cb : st->waiters) waiters.push_back(std::move(cb));
  for (auto& [name, st] : impl_->queue)
    for (auto& cb : st->waiters) waiters.push_back(std::move(cb));
  auto r = failure("the relay is stopping", "none", true);
  for (auto& cb : waiters) cb(r);
}

void TokenProvider::set_tenants(const std::map<std::string, conf::Tenant>& tenants) {
  std::lock_guard g(impl_->mutex);
  std::map<std::string, Impl::StatePtr> next;
  for (const auto& [name, cfg] : tenants) {
    auto old = impl_->tenants.find(name);
    if (old != impl_->tenants.end() && same_identity(old->second->cfg, cfg))
      next.emplace(name, old->second);
    else
      next.emplace(name, std::make_shared<Impl::TenantState>(cfg));
  }
  // A replaced tenant's fetch in flight still answers its own waiters.
  impl_->tenants = std::move(next);
  impl_->wake.notify_all();
}

void TokenProvider::get(const std::string& tenant, Callback cb) {
  std::unique_lock lock(impl_->mutex);
  if (impl_->stopping) {
    lock.unlock();
    cb(failure("the relay is stopping", "none", true));
    return;
  }
  auto it = impl_->tenants.find(tenant);
  if (it == impl_->tenants.end()) {
    lock.unlock();
    cb(failure("tenant '" + tenant + "' is not in the configuration", "reload the configuration", false));
    return;
  }
  auto st = it->second;
  auto now = Clock::now();
  if (st->token && Impl::usable(*st->token, now)) {
    TokenResult r;
    r.ok = true;
    r.token = *st->token;
    lock.unlock();
    cb(r);
    return;
  }
  if (!st->fetching && st->last_error && now < st->quiet_until) {
    TokenResult r;
    r.error = *st->last_error;
    lock.unlock();
    cb(r);
    return;
  }
  st->waiters.push_back(std::move(cb));
  if (!st->fetching) {
    st->fetching = true;
    impl_->queue.emplace_back(tenant, st);
    impl_->wake.notify_all();
  }
}

TokenProvider::TenantStats TokenProvider::stats(const std::string& tenant) const {
  std::lock_guard g(impl_->mutex);
  TenantStats s;
  auto it = impl_->tenants.find(tenant);
  if (it == impl_->tenants.end()) return s;
  const auto& st = *it->second;
  s.requests = st.requests;
  s.failures = st.failures;
  s.has_token = st.token.has_value();
  s.last_failed = st.last_error.has_value();
  if (st.token) s.expires_at = st.token->expires_at;
  return s;
}

}  // namespace xr::auth
