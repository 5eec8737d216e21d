// A short-lived memory of logins already verified with crypt(3), so a printer
// that logs in for every scan pays yescrypt once per TTL, not per session.
// Entries are HMAC-SHA256(key, user, password, hash) with a per-process random
// key: the cache never holds a password or anything that could be reversed
// into one. The stored hash is part of the MAC, so a changed hash misses.
//
// Single flight: N concurrent logins with the same user, password and hash
// should cost one yescrypt, not N. The first to join() a key leads: it runs
// the check and calls finish(). The others are followers: join() keeps their
// `wake` callback and finish() calls it, after the leader's remember() (if
// its password was right). Followers then run their own check, which the
// cache now answers. Nobody blocks here: the caller decides where a follower
// waits (the relay parks the session's coroutine, never a thread of its small
// blocking pool, which would stall other users' logins behind the leader).
// A leader whose password was wrong caches nothing, so its followers each
// verify (and each attempt is counted by the throttle, as always).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace xr::auth {

class LoginCache {
 public:
  using Clock = std::chrono::steady_clock;
  using Key = std::array<std::uint8_t, 32>;  // what an entry is keyed by (the MAC)
  explicit LoginCache(std::chrono::seconds ttl, std::size_t max_entries = 10000);

  bool check(std::string_view user, std::string_view password, std::string_view hash);
  void remember(std::string_view user, std::string_view password, std::string_view hash);
  void flush();  // on config reload
  void set_ttl(std::chrono::seconds ttl);

  // False when the TTL is 0: nothing is remembered, so nothing to share.
  bool enabled() const;
  Key key(std::string_view user, std::string_view password, std::string_view hash) const;
  // True: no check of this key is in flight, the caller leads and must call
  // finish(key) once its check is done (whatever the outcome). False: one is
  // in flight; `wake` is called once, on the thread calling finish(), and
  // must only hand over to wherever the follower waits.
  bool join(const Key& key, std::function<void()> wake);
  void finish(const Key& key);
  std::size_t flights() const;  // for tests: keys in flight

 private:
  using Digest = Key;
  Digest mac(std::string_view user, std::string_view password, std::string_view hash) const;
  struct DigestHash {
    std::size_t operator()(const Digest& d) const;
  };
  std::array<std::uint8_t, 32> key_{};
  mutable std::mutex mutex_;
  std::chrono::seconds ttl_;
  std::size_t max_entries_;
  std::unordered_map<Digest, Clock::time_point, DigestHash> entries_;
  // Keys in flight -> their followers' wake callbacks.
  std::unordered_map<Digest, std::vector<std::function<void()>>, DigestHash> flights_;
};

}  // namespace xr::auth
