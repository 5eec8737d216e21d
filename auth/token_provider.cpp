#include "auth/token_provider.hpp"

#include "auth/aadsts.hpp"
#include "auth/google_token.hpp"
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

// The fix with this tenant's own file, client ID and config keys, where the
// AADSTS code has such a text: the log line and /readyz then say what to edit.
void name_the_fix(const conf::Tenant& t, TokenError& e) {
  for (long code : e.aadsts_codes) {
    auto fix = aadsts_tenant_fix(code, t);
    if (!fix.empty()) {
      e.fix = std::move(fix);
      return;
    }
  }
}

}  // namespace

struct TokenProvider::Impl {
  struct TenantState {
    TenantState(TokenTarget c, TokenIdentity i) : cfg(std::move(c)), identity(std::move(i)) {}
    const TokenTarget cfg;  // immutable: read by workers without the lock
    const TokenIdentity identity;
    std::optional<AccessToken> token;
    Clock::time_point refresh_at{};
    // No usable token after a failed fetch: when the background tries again,
    // and how many fetches in a row failed (the backoff's exponent).
    std::optional<Clock::time_point> retry_at;
    int failed_fetches = 0;
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

  // The background retry after `failed` fetches in a row: retry_initial
  // doubling up to retry_max, ±10 % so relays that failed together spread out.
  milliseconds retry_delay(int failed) {
    auto base = options.retry_initial * (std::int64_t{1} << std::min(std::max(failed, 1) - 1, 20));
    base = std::min<milliseconds>(base, options.retry_max);
    std::uniform_real_distribution<double> jitter(0.9, 1.1);
    return milliseconds(static_cast<std::int64_t>(static_cast<double>(base.count()) * jitter(rng)));
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
      // Background work: the tenant whose refresh (token held) or retry
      // (none held, the last fetch failed) comes first.
      std::string due_name;
      StatePtr due;
      Clock::time_point due_at{};
      for (auto& [name, st] : tenants) {
        if (st->fetching) continue;
        std::optional<Clock::time_point> at;
        if (st->token) at = st->refresh_at;
        else if (st->retry_at) at = *st->retry_at;
        if (at && (!due || *at < due_at)) {
          due_name = name;
          due = st;
          due_at = *at;
        }
      }
      if (!due) {
        wake.wait(lock);
      } else if (Clock::now() < due_at) {
        wake.wait_until(lock, due_at);
      } else {
        due->fetching = true;
        due->retry_at.reset();
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
        if (!r.ok && st->cfg.tenant.provider == conf::Provider::google)
          explain_google_error(st->cfg, r.error);
        else if (!r.ok)
          name_the_fix(st->cfg.tenant, r.error);
      }
      wipe_secret(req.form_body);

      if (r.ok) {
        auto now = Clock::now();
        std::vector<Callback> waiters;
        {
          std::lock_guard g(mutex);
          st->token = r.token;
          st->refresh_at = refresh_time(r.token);
          st->fetching = false;
          st->last_error.reset();
          st->retry_at.reset();
          st->failed_fetches = 0;
          waiters.swap(st->waiters);
        }
        // The log line before the sessions that waited go on with the token.
        observer.token_fetched(name, duration_cast<seconds>(r.token.expires_at - now),
                               duration_cast<milliseconds>(now - started));
        observer.tokens_changed();
        wake.notify_all();  // the refresh schedule changed
        for (auto& cb : waiters) cb(r);
        return;
      }

      TokenFailure failure;
      failure.attempt = attempt;
      milliseconds delay{0};
      {
        std::lock_guard g(mutex);
        ++st->failures;
        failure.will_retry = r.error.transient && attempt < options.max_attempts && !stopping;
        if (failure.will_retry) delay = backoff(attempt);
      }
      if (!failure.will_retry) {
        finish_failed(name, st, r, failure);
        return;
      }
      failure.next_try = delay;
      observer.token_failed(name, r.error, failure);
      std::unique_lock lock(mutex);
      if (wake.wait_for(lock, delay, [this] { return stopping; })) {
        lock.unlock();
        failure.will_retry = false;
        finish_failed(name, st, r, failure);
        return;
      }
    }
  }

  // The fetch gave up: state first (so stats() and readiness see it when the
  // observer runs), then the log line, then the waiters.
  void finish_failed(const std::string& name, const StatePtr& st, const TokenResult& r, TokenFailure failure) {
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
        failure.token_still_valid = true;
        failure.next_try = duration_cast<milliseconds>(st->refresh_at - now);
      } else {
        st->token.reset();
        ++st->failed_fetches;
        if (!stopping) {
          auto delay = retry_delay(st->failed_fetches);
          st->retry_at = now + delay;
          failure.next_try = delay;
        }
      }
      waiters.swap(st->waiters);
    }
    observer.token_failed(name, r.error, failure);
    observer.tokens_changed();
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

std::vector<std::string> TokenProvider::set_tenants(const std::map<std::string, TokenTarget>& tenants) {
  auto ids = token_identities(tenants);  // file reads: outside the lock
  std::lock_guard g(impl_->mutex);
  std::map<std::string, TokenIdentity> before;
  for (const auto& [name, st] : impl_->tenants) before.emplace(name, st->identity);
  auto changed = changed_tenants(before, ids);
  std::map<std::string, Impl::StatePtr> next;
  for (const auto& [name, cfg] : tenants) {
    auto old = impl_->tenants.find(name);
    if (old != impl_->tenants.end() && old->second->identity == ids.at(name))
      next.emplace(name, old->second);
    else
      next.emplace(name, std::make_shared<Impl::TenantState>(cfg, ids.at(name)));
  }
  // A replaced tenant's fetch in flight still answers its own waiters.
  impl_->tenants = std::move(next);
  impl_->wake.notify_all();
  return changed;
}

void TokenProvider::invalidate(const std::string& key, const conf::Secret& refused) {
  std::lock_guard g(impl_->mutex);
  auto it = impl_->tenants.find(key);
  if (it == impl_->tenants.end()) return;
  auto& st = it->second;
  // Only the token that was refused: a late 401 for a request made with an
  // older token must not throw away the fresh one another request fetched.
  if (!st->token || !(st->token->value == refused)) return;
  // A fetch in flight brings a new token anyway; dropping what it stores
  // would only cost another request.
  if (st->fetching) return;
  st->token.reset();
  if (impl_->stopping) return;
  st->fetching = true;
  st->retry_at.reset();
  impl_->queue.emplace_back(key, st);
  impl_->wake.notify_all();
}

void TokenProvider::fetch_soon(const std::string& tenant) {
  std::lock_guard g(impl_->mutex);
  if (impl_->stopping) return;
  auto it = impl_->tenants.find(tenant);
  if (it == impl_->tenants.end()) return;
  auto& st = it->second;
  st->failed_fetches = 0;
  if (st->fetching || (st->token && Impl::usable(*st->token, Clock::now()))) return;
  st->fetching = true;
  st->retry_at.reset();
  impl_->queue.emplace_back(tenant, st);
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
  s.known = true;
  s.requests = st.requests;
  s.failures = st.failures;
  s.has_token = st.token.has_value();
  s.usable = st.token && Impl::usable(*st.token, Clock::now());
  s.last_failed = st.last_error.has_value();
  s.last_error = st.last_error;
  s.fetching = st.fetching;
  s.next_try = st.retry_at;
  if (st.token) s.expires_at = st.token->expires_at;
  return s;
}

}  // namespace xr::auth
