// The brute-force throttle: failed logins are counted per source address and
// per user name within limits.auth_failure_window; at auth_failures_per_ip
// (per_user) the source (the user name) is blocked for auth_block_time, and
// a blocked attempt is refused BEFORE any password check, so guessing costs
// the relay no yescrypt and cannot starve real logins of the blocking pool.
//
// Sources in trusted_networks are neither counted nor blocked, and a blocked
// user name is refused only for sources outside them: guessing from the
// internet cannot lock out the printer VLAN.
//
// Memory stays bounded under a flood of distinct addresses or user names:
// each table holds a capped number of keys (oldest evicted first, blocked
// keys last), each key a capped number of failure times. IPv6 sources are
// counted per /64, the smallest network a host is usually given.
//
// No Asio; thread-safe (one mutex; a few map operations per login).
#pragma once

#include "conf/cidr.hpp"
#include "conf/config.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace xr::auth {

enum class ThrottleScope { ip, user };
const char* to_string(ThrottleScope);

struct ThrottleVerdict {
  enum Kind { allowed, blocked_ip, blocked_user } kind = allowed;
  std::chrono::seconds retry_after{0};  // whole seconds, rounded up; 0 when allowed
  bool ok() const { return kind == allowed; }
  ThrottleScope scope() const { return kind == blocked_user ? ThrottleScope::user : ThrottleScope::ip; }
};

// A block in force, for the admin endpoint's /blocks.
struct ThrottleBlock {
  ThrottleScope scope;
  std::string key;                 // "192.0.2.7", "2001:db8:1:2::/64" or a user name
  std::chrono::seconds remaining;  // until it lifts (rounded up)
  std::size_t failures;            // counted within the window when it started, and since
};

// What bounds the throttle's memory: about 250 bytes per key plus 16 per
// failure kept, so under 20 MB at the defaults whatever the flood.
struct ThrottleCaps {
  std::size_t max_keys = 32768;          // per table (sources, user names)
  std::size_t max_failures_kept = 1000;  // failure times kept per key; more are only counted
};

class AuthThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  using Now = std::function<Clock::time_point()>;

  using Caps = ThrottleCaps;

  explicit AuthThrottle(const conf::Limits& limits, std::vector<conf::Cidr> trusted = {}, Now now = {},
                        Caps caps = {});

  // Before any password check: the source, then the user name.
  ThrottleVerdict check(const conf::IpAddress& ip, std::string_view user);
  // The source only: the cheap check at connect time.
  ThrottleVerdict check_source(const conf::IpAddress& ip);
  // After our own check refused a login (any reason: telling "wrong
  // password" from "right password, wrong source" apart by whether the count
  // moves would be an oracle). The next check() says whether it blocked.
  void record_failure(const conf::IpAddress& ip, std::string_view user);
  // After a successful check. Forgets only the failures this source made
  // for this user name (the device's own typos): clearing the per-user count
  // would let a real device that logs in every minute reset an attacker's
  // count from elsewhere, and clearing the per-source count would let an
  // attacker with one valid account reset its own count between guesses at
  // other user names.
  void record_success(const conf::IpAddress& ip, std::string_view user);

  std::vector<ThrottleBlock> blocks();
  // On reload. Existing counts and blocks stay; a count set to 0 lifts its
  // scope's blocks (they are no longer judged).
  void set_limits(const conf::Limits& limits, std::vector<conf::Cidr> trusted);

  bool trusted(const conf::IpAddress& ip) const;
  std::size_t keys() const;  // for tests: entries in both tables

 private:
  struct Failure {
    Clock::time_point at;
    std::uint64_t other;  // hash of the user name (source table) or source (user table)
  };
  struct Entry {
    // Oldest first, fewer than the limit (a block clears them) and at most
    // caps_.max_failures_kept. A vector: a deque's first chunk alone is 512 B.
    std::vector<Failure> failures;
    std::size_t older = 0;         // failures within the window dropped from `failures` by the cap
    Clock::time_point blocked_until{};
    std::size_t failures_at_block = 0;  // and those recorded while it is in force
    bool in_blocked_list = false;
    std::list<std::string>::iterator pos;
  };
  // One table: keys -> entries, with two age-ordered lists (newest first):
  // counting entries by last failure, blocked entries by block start.
  struct Table {
    std::unordered_map<std::string, Entry> entries;
    std::list<std::string> counting;
    std::list<std::string> blocked;
  };

  static std::string ip_key(const conf::IpAddress& ip);  // auth::source_key
  bool trusted_locked(const conf::IpAddress& ip) const;  // mutex_ held
  static std::string user_key(std::string_view user);
  std::size_t count(Entry& e, Clock::time_point now) const;
  void prune(Table& t, Clock::time_point now);
  void evict_one(Table& t);
  void erase(Table& t, std::unordered_map<std::string, Entry>::iterator it);
  // Adds one failure; at the limit the key is blocked.
  void add_failure(Table& t, const std::string& key, std::uint64_t other, std::size_t limit,
                   Clock::time_point now);
  void forget(Table& t, const std::string& key, std::uint64_t other);
  std::chrono::seconds blocked_for(const Table& t, const std::string& key, Clock::time_point now) const;

  mutable std::mutex mutex_;
  conf::Limits limits_;
  std::vector<conf::Cidr> trusted_;
  Now now_;
  Caps caps_;
  Table ips_;
  Table users_;
};

}  // namespace xr::auth
