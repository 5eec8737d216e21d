#include "relay/tls_resumption.hpp"

#include <openssl/ssl.h>

#include <map>
#include <mutex>
#include <utility>

namespace xr::relay {
namespace {

class SessionStore {
 public:
  ~SessionStore() {
    for (auto& [key, s] : sessions_) SSL_SESSION_free(s);
  }
  void put(SSL_CTX* ctx, const std::string& host, SSL_SESSION* s) {  // takes ownership
    std::lock_guard g(mutex_);
    auto& slot = sessions_[{ctx, host}];
    if (slot) SSL_SESSION_free(slot);
    slot = s;
  }
  SSL_SESSION* get(SSL_CTX* ctx, const std::string& host) {  // caller owns the returned reference
    std::lock_guard g(mutex_);
    auto it = sessions_.find({ctx, host});
    if (it == sessions_.end()) return nullptr;
    if (!SSL_SESSION_is_resumable(it->second)) {
      SSL_SESSION_free(it->second);
      sessions_.erase(it);
      return nullptr;
    }
    SSL_SESSION_up_ref(it->second);
    return it->second;
  }

 private:
  std::mutex mutex_;
  std::map<std::pair<SSL_CTX*, std::string>, SSL_SESSION*> sessions_;
};

SessionStore& store() {
  static SessionStore s;
  return s;
}

int host_index() {
  static const int idx = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return idx;
}

// OpenSSL calls this for each new session (TLS 1.3: each ticket, after the
// handshake). Returning 1 keeps our reference.
int on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* host = static_cast<const std::string*>(SSL_get_ex_data(ssl, host_index()));
  if (!host) return 0;
  store().put(SSL_get_SSL_CTX(ssl), *host, session);
  return 1;
}

}  // namespace

void enable_client_resumption(SSL_CTX* ctx) {
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, on_new_session);
}

void prepare_client_resumption(SSL* ssl, const std::string& host) {
  // The key must outlive the connection's SSL object: interned strings.
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<std::string>> hosts;
  const std::string* key;
  {
    std::lock_guard g(mutex);
    auto& p = hosts[host];
    if (!p) p = std::make_unique<std::string>(host);
    key = p.get();
  }
  SSL_set_ex_data(ssl, host_index(), const_cast<std::string*>(key));
  if (SSL_SESSION* s = store().get(SSL_get_SSL_CTX(ssl), host)) {
    SSL_set_session(ssl, s);
    SSL_SESSION_free(s);
  }
}

}  // namespace xr::relay
