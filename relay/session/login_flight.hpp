// Single flight for password checks (auth::LoginCache::join): a session
// whose login is already being checked by another session waits here, parked
// on its own executor, until that check is done; then it runs its own check,
// which the login cache answers without yescrypt if the password was right.
//
// Why the session waits and not the blocking pool: the pool has two threads.
// A pool task that waited for another login's result would hold one of them,
// so a burst of one user's logins would stall every other user's behind it.
// A parked coroutine holds no thread.
#pragma once

#include "auth/login_cache.hpp"
#include "relay/asio.hpp"

namespace xr::relay {

// True: the caller leads (no check of this key in flight) and must call
// cache.finish(key) when its check is done: LoginFlightLead does. False: the
// caller was a follower and the leader has now finished.
net::awaitable<bool> join_login_flight(auth::LoginCache& cache, const auth::LoginCache::Key& key);

// Ends a lead flight however the check ends (a result, an exception, the
// session's coroutine destroyed at shutdown), so followers are never left
// parked.
class LoginFlightLead {
 public:
  LoginFlightLead(auth::LoginCache& cache, const auth::LoginCache::Key& key) : cache_(&cache), key_(key) {}
  LoginFlightLead(const LoginFlightLead&) = delete;
  LoginFlightLead& operator=(const LoginFlightLead&) = delete;
  ~LoginFlightLead() { finish(); }
  void finish() {
    if (cache_) cache_->finish(key_);
    cache_ = nullptr;
  }

 private:
  auth::LoginCache* cache_ = nullptr;
  auth::LoginCache::Key key_{};
};

}  // namespace xr::relay
