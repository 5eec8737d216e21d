// App-only tokens per tenant: client-credentials flow (secret or certificate
// assertion), one cached token per tenant, refreshed in the background a
// safety window before expiry, at most one request in flight per tenant, with
// bounded, jittered retries. Everything blocking runs on the provider's own
// worker threads; callers are never blocked.
#pragma once

#include "auth/http_client.hpp"
#include "auth/token.hpp"
#include "conf/config.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace xr::auth {

// What the provider tells the rest of the relay (logs, later metrics). Called
// on a provider thread; implementations must be thread-safe and quick.
class TokenObserver {
 public:
  virtual ~TokenObserver() = default;
  virtual void token_fetched(const std::string& tenant, std::chrono::seconds lifetime,
                             std::chrono::milliseconds took) = 0;
  virtual void token_failed(const std::string& tenant, const TokenError& err, int attempt,
                            bool will_retry) = 0;
};

struct TokenProviderOptions {
  std::chrono::seconds refresh_window{300};  // refresh this long before expiry...
  double refresh_fraction = 0.25;            // ...or this fraction of a short lifetime
  int max_attempts = 4;                      // per fetch, transient errors only
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{8000};
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

  // Installs the tenants of a (re)loaded config. Tenants whose credentials,
  // authority, scope and ids are unchanged keep their cached token.
  void set_tenants(const std::map<std::string, conf::Tenant>& tenants);

  // Delivers a token valid for at least a short margin, from cache or after a
  // fetch shared with every other caller waiting on the same tenant. The
  // callback runs on a provider thread (or inline when the cache answers).
  void get(const std::string& tenant, Callback cb);

  struct TenantStats {
    std::uint64_t requests = 0;   // HTTP requests sent
    std::uint64_t failures = 0;
    bool has_token = false;
    Clock::time_point expires_at{};
    bool last_failed = false;     // the last completed fetch ended in an error
  };
  TenantStats stats(const std::string& tenant) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace xr::auth
