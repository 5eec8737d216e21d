// App-only tokens per token key (auth/token_keys.hpp: "contoso",
// "contoso/graph", "acme/scan@acme.com"): client-credentials flow (secret or
// certificate assertion) for Microsoft, JWT bearer with `sub` = the mailbox
// for Google; one cached token per key, refreshed in the background a
// safety window before expiry, at most one request in flight per key, with
// bounded, jittered retries. A key left without a token is tried again in
// the background with a per-key backoff (5 s doubling to 5 min), so its
// state (and the readiness built on it) recovers without a device asking.
// Everything blocking runs on the provider's own worker threads; callers are
// never blocked.
#pragma once

#include "auth/http_client.hpp"
#include "auth/token.hpp"
#include "auth/token_identity.hpp"
#include "auth/token_keys.hpp"
#include "conf/config.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace xr::auth {

// How one failed request fits into the provider's retries.
struct TokenFailure {
  int attempt = 1;          // within this fetch
  bool will_retry = false;  // another attempt of this fetch follows (transient error)
  // When the next request for this tenant starts on its own: the next attempt,
  // the background retry after the fetch gave up, or the next refresh while a
  // still-valid token is kept. Zero: none (the provider is stopping).
  std::chrono::milliseconds next_try{0};
  bool token_still_valid = false;  // devices keep being served meanwhile
};

// What the provider tells the rest of the relay (logs, readiness). Called on
// a provider thread; implementations must be thread-safe and quick. `tenant`
// is the token key.
class TokenObserver {
 public:
  virtual ~TokenObserver() = default;
  virtual void token_fetched(const std::string& tenant, std::chrono::seconds lifetime,
                             std::chrono::milliseconds took) = 0;
  virtual void token_failed(const std::string& tenant, const TokenError& err, const TokenFailure& failure) = 0;
  // After a fetch ended (either way) and stats() shows its outcome.
  virtual void tokens_changed() {}
};

struct TokenProviderOptions {
  std::chrono::seconds refresh_window{300};  // refresh this long before expiry...
  double refresh_fraction = 0.25;            // ...or this fraction of a short lifetime
  int max_attempts = 4;                      // per fetch, transient errors only
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{8000};
  // After a fetch gave up and no valid token is left: the next background
  // fetch, doubling per failed fetch (with jitter), until one succeeds.
  std::chrono::milliseconds retry_initial{5000};
  std::chrono::milliseconds retry_max{300000};
  std::chrono::milliseconds http_connect_timeout{10000};
  std::chrono::milliseconds http_total_timeout{30000};
  int worker_threads = 2;
};

class TokenProvider {
 public:
  using Callback = std::function<void(const TokenResult&)>;

  TokenProvider(std::unique_ptr<HttpClient> http, TokenObserver& observer,
                TokenProviderOptions options = {});
  ~TokenProvider();  // stops workers; pending callbacks get a failure result
  TokenProvider(const TokenProvider&) = delete;
  TokenProvider& operator=(const TokenProvider&) = delete;

  // Installs the token keys of a (re)loaded config (auth::token_targets).
  // Keys whose TokenIdentity (credential, authority, scope, ids, Google
  // subject) is unchanged keep their cached token and state; returns the
  // others (new or changed), which start without one. Reads certificate and
  // key files (for their digest).
  std::vector<std::string> set_tenants(const std::map<std::string, TokenTarget>& targets);

  // Drops the cached token of `key` if it is still `refused` (Graph answered
  // 401 to it), so the next get() fetches a new one, and starts that fetch
  // now unless one is in flight already (its token is then the new one). A
  // token already replaced is left alone.
  void invalidate(const std::string& key, const conf::Secret& refused);

  // Starts a background fetch for `tenant` (a token key) now unless it has a usable token
  // or a fetch is in flight; resets its retry backoff. Nobody waits on it:
  // the outcome reaches the observer and stats(), and the token is cached for
  // the first get(). Used at start and after a reload.
  void fetch_soon(const std::string& tenant);

  // Delivers a token valid for at least a short margin, from cache or after a
  // fetch shared with every other caller waiting on the same key
  // (auth::token_key(...)). The
  // callback runs on a provider thread (or inline when the cache answers).
  void get(const std::string& tenant, Callback cb);

  struct TenantStats {
    bool known = false;           // the key is configured
    std::uint64_t requests = 0;   // HTTP requests sent
    std::uint64_t failures = 0;
    bool has_token = false;
    bool usable = false;          // has_token and it has a margin left (get() answers from cache)
    Clock::time_point expires_at{};
    bool last_failed = false;     // the last completed fetch ended in an error
    std::optional<TokenError> last_error;  // that error (no secrets in it)
    bool fetching = false;        // a request is in flight or queued
    std::optional<Clock::time_point> next_try;  // background retry after a failure
  };
  TenantStats stats(const std::string& tenant) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace xr::auth
