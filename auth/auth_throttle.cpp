#include "auth/auth_throttle.hpp"

#include "auth/source_network.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace xr::auth {
namespace {

// User names are the client's bytes (up to a command line): long ones are
// shortened so a flood of them costs a bounded amount per key.
constexpr std::size_t kMaxUserKey = 256;

std::uint64_t hash_of(std::string_view s) { return std::hash<std::string_view>{}(s); }

std::chrono::seconds round_up(AuthThrottle::Clock::duration d) {
  auto s = std::chrono::ceil<std::chrono::seconds>(d);
  return s < std::chrono::seconds(1) ? std::chrono::seconds(1) : s;
}

}  // namespace

const char* to_string(ThrottleScope s) { return s == ThrottleScope::ip ? "ip" : "user"; }

AuthThrottle::AuthThrottle(const conf::Limits& limits, std::vector<conf::Cidr> trusted, Now now, Caps caps)
    : limits_(limits), trusted_(std::move(trusted)), now_(std::move(now)), caps_(caps) {
  if (!now_) now_ = [] { return Clock::now(); };
  caps_.max_keys = std::max<std::size_t>(caps_.max_keys, 1);
  caps_.max_failures_kept = std::max<std::size_t>(caps_.max_failures_kept, 1);
}

std::string AuthThrottle::ip_key(const conf::IpAddress& ip) { return source_key(ip); }

std::string AuthThrottle::user_key(std::string_view user) {
  if (user.size() <= kMaxUserKey) return std::string(user);
  return fmt::format("{}...#{:016x}", user.substr(0, kMaxUserKey - 32), hash_of(user));
}

bool AuthThrottle::trusted(const conf::IpAddress& ip) const {
  std::lock_guard g(mutex_);
  return trusted_locked(ip);
}

bool AuthThrottle::trusted_locked(const conf::IpAddress& ip) const {
  return std::any_of(trusted_.begin(), trusted_.end(), [&](const conf::Cidr& c) { return c.contains(ip); });
}

std::size_t AuthThrottle::count(Entry& e, Clock::time_point now) const {
  auto first_kept = std::find_if(e.failures.begin(), e.failures.end(), [&](const Failure& f) {
    return f.at + limits_.auth_failure_window > now;
  });
  const bool expired = first_kept != e.failures.begin();
  e.failures.erase(e.failures.begin(), first_kept);
  // The summarized failures are older than any kept one.
  if (expired || e.failures.empty()) e.older = 0;
  return e.older + e.failures.size();
}

void AuthThrottle::erase(Table& t, std::unordered_map<std::string, Entry>::iterator it) {
  (it->second.in_blocked_list ? t.blocked : t.counting).erase(it->second.pos);
  t.entries.erase(it);
}

// Drops what can no longer matter: blocks that have lifted and entries whose
// newest failure left the window. Both lists are in age order, so this stops
// at the first entry still in force. A lifted block's entry has nothing left
// to count (a block clears the failures and keeps none while in force), so
// it goes entirely: the count starts again from zero.
void AuthThrottle::prune(Table& t, Clock::time_point now) {
  while (!t.blocked.empty()) {
    auto it = t.entries.find(t.blocked.back());
    if (it->second.blocked_until > now) break;
    erase(t, it);
  }
  while (!t.counting.empty()) {
    auto it = t.entries.find(t.counting.back());
    if (count(it->second, now) > 0) break;
    erase(t, it);
  }
}

// The table is full: the entry with the oldest failure goes; blocks go last
// (a flood of fresh names must not wash a block out), the oldest first.
void AuthThrottle::evict_one(Table& t) {
  auto& list = t.counting.empty() ? t.blocked : t.counting;
  if (list.empty()) return;
  erase(t, t.entries.find(list.back()));
}

void AuthThrottle::add_failure(Table& t, const std::string& key, std::uint64_t other, std::size_t limit,
                               Clock::time_point now) {
  if (limit == 0) return;  // this count is off
  prune(t, now);
  auto it = t.entries.find(key);
  if (it == t.entries.end()) {
    if (t.entries.size() >= caps_.max_keys) evict_one(t);
    it = t.entries.emplace(key, Entry{}).first;
    t.counting.push_front(it->first);
    it->second.pos = t.counting.begin();
  }
  Entry& e = it->second;
  if (e.blocked_until > now) {
    // A check that was already running when the block started: counted for
    // /blocks, not kept, and the block is not extended.
    ++e.failures_at_block;
    return;
  }
  e.failures.push_back({now, other});
  if (e.failures.size() > caps_.max_failures_kept) {
    e.failures.erase(e.failures.begin());
    ++e.older;
  }
  // Newest first in the counting list.
  (e.in_blocked_list ? t.blocked : t.counting).erase(e.pos);
  e.in_blocked_list = false;
  t.counting.push_front(it->first);
  e.pos = t.counting.begin();
  const std::size_t n = count(e, now);
  if (n < limit) return;
  // Blocked: the count starts again when the block lifts.
  e.blocked_until = now + limits_.auth_block_time;
  e.failures_at_block = n;
  e.failures.clear();
  e.older = 0;
  t.counting.erase(e.pos);
  t.blocked.push_front(it->first);
  e.pos = t.blocked.begin();
  e.in_blocked_list = true;
}

void AuthThrottle::forget(Table& t, const std::string& key, std::uint64_t other) {
  auto it = t.entries.find(key);
  if (it == t.entries.end()) return;
  Entry& e = it->second;
  std::erase_if(e.failures, [&](const Failure& f) { return f.other == other; });
  if (!e.in_blocked_list && e.failures.empty() && e.older == 0) erase(t, it);
}

std::chrono::seconds AuthThrottle::blocked_for(const Table& t, const std::string& key, Clock::time_point now) const {
  auto it = t.entries.find(key);
  if (it == t.entries.end() || it->second.blocked_until <= now) return std::chrono::seconds(0);
  return round_up(it->second.blocked_until - now);
}

ThrottleVerdict AuthThrottle::check(const conf::IpAddress& ip, std::string_view user) {
  std::lock_guard g(mutex_);
  if (trusted_locked(ip)) return {};
  const auto now = now_();
  if (limits_.auth_failures_per_ip > 0)
    if (auto s = blocked_for(ips_, ip_key(ip), now); s.count() > 0) return {ThrottleVerdict::blocked_ip, s};
  if (limits_.auth_failures_per_user > 0)
    if (auto s = blocked_for(users_, user_key(user), now); s.count() > 0) return {ThrottleVerdict::blocked_user, s};
  return {};
}

ThrottleVerdict AuthThrottle::check_source(const conf::IpAddress& ip) {
  std::lock_guard g(mutex_);
  if (trusted_locked(ip)) return {};
  if (limits_.auth_failures_per_ip > 0)
    if (auto s = blocked_for(ips_, ip_key(ip), now_()); s.count() > 0) return {ThrottleVerdict::blocked_ip, s};
  return {};
}

void AuthThrottle::record_failure(const conf::IpAddress& ip, std::string_view user) {
  const auto ik = ip_key(ip);
  const auto uk = user_key(user);
  std::lock_guard g(mutex_);
  // A trusted source is never blocked, so counting its failures against the
  // user name would only lock the name out for everyone else.
  if (trusted_locked(ip)) return;
  const auto now = now_();
  add_failure(ips_, ik, hash_of(uk), limits_.auth_failures_per_ip, now);
  add_failure(users_, uk, hash_of(ik), limits_.auth_failures_per_user, now);
}

void AuthThrottle::record_success(const conf::IpAddress& ip, std::string_view user) {
  const auto ik = ip_key(ip);
  const auto uk = user_key(user);
  std::lock_guard g(mutex_);
  if (trusted_locked(ip)) return;
  forget(ips_, ik, hash_of(uk));
  forget(users_, uk, hash_of(ik));
}

std::vector<ThrottleBlock> AuthThrottle::blocks() {
  std::lock_guard g(mutex_);
  const auto now = now_();
  std::vector<ThrottleBlock> out;
  auto list = [&](Table& t, ThrottleScope scope, std::size_t limit) {
    prune(t, now);
    if (limit == 0) return;
    for (const auto& key : t.blocked) {
      Entry& e = t.entries.at(key);
      if (e.blocked_until <= now) continue;
      out.push_back({scope, key, round_up(e.blocked_until - now), e.failures_at_block});
    }
  };
  list(ips_, ThrottleScope::ip, limits_.auth_failures_per_ip);
  list(users_, ThrottleScope::user, limits_.auth_failures_per_user);
  return out;
}

void AuthThrottle::set_limits(const conf::Limits& limits, std::vector<conf::Cidr> trusted) {
  std::lock_guard g(mutex_);
  limits_ = limits;
  trusted_ = std::move(trusted);
}

std::size_t AuthThrottle::keys() const {
  std::lock_guard g(mutex_);
  return ips_.entries.size() + users_.entries.size();
}

}  // namespace xr::auth
