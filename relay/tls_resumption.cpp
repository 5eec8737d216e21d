#include "relay/tls_resumption.hpp"

#include <openssl/ssl.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

namespace xr::relay {
namespace {

using Key = std::pair<std::uint64_t, std::string>;  // context number, host:port

class SessionStore {
 public:
  void put(std::uint64_t ctx, const std::string& host, SSL_SESSION* s) {  // takes ownership
    std::lock_guard g(mutex_);
    auto& slot = sessions_[{ctx, host}];
    if (slot) SSL_SESSION_free(slot);
    slot = s;
  }
  SSL_SESSION* get(std::uint64_t ctx, const std::string& host) {  // caller owns the returned reference
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
  // A context was freed: its sessions can never be offered again.
  void drop(std::uint64_t ctx) {
    std::lock_guard g(mutex_);
    for (auto it = sessions_.lower_bound({ctx, std::string()}); it != sessions_.end() && it->first.first == ctx;) {
      SSL_SESSION_free(it->second);
      it = sessions_.erase(it);
    }
  }
  std::size_t size() {
    std::lock_guard g(mutex_);
    return sessions_.size();
  }

 private:
  std::mutex mutex_;
  std::map<Key, SSL_SESSION*> sessions_;
};

// Never destroyed: contexts may be freed during static destruction, and
// their free callback still needs the store.
SessionStore& store() {
  static auto* s = new SessionStore;
  return *s;
}

// The context's number lives in its ex_data as a heap value; OpenSSL frees
// it with the context, and that is when the context's sessions go too.
void free_context_id(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  auto* id = static_cast<std::uint64_t*>(ptr);
  if (!id) return;
  store().drop(*id);
  delete id;
}

int context_index() {
  static const int idx = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_context_id);
  return idx;
}

int host_index() {
  static const int idx = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return idx;
}

// OpenSSL calls this for each new session (TLS 1.3: each ticket, after the
// handshake). Returning 1 keeps our reference.
int on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* host = static_cast<const std::string*>(SSL_get_ex_data(ssl, host_index()));
  std::uint64_t ctx = resumption_context_id(SSL_get_SSL_CTX(ssl));
  if (!host || ctx == 0) return 0;
  store().put(ctx, *host, session);
  return 1;
}

}  // namespace

std::uint64_t resumption_context_id(const SSL_CTX* ctx) {
  auto* id = static_cast<const std::uint64_t*>(SSL_CTX_get_ex_data(ctx, context_index()));
  return id ? *id : 0;
}

std::size_t remembered_sessions() { return store().size(); }

void enable_client_resumption(SSL_CTX* ctx) {
  static std::atomic<std::uint64_t> next{1};
  if (resumption_context_id(ctx) == 0) SSL_CTX_set_ex_data(ctx, context_index(), new std::uint64_t(next++));
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
  std::uint64_t ctx = resumption_context_id(SSL_get_SSL_CTX(ssl));
  if (ctx == 0) return;
  if (SSL_SESSION* s = store().get(ctx, host)) {
    SSL_set_session(ssl, s);
    SSL_SESSION_free(s);
  }
}

}  // namespace xr::relay
