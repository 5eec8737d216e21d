// A short-lived memory of logins already verified with crypt(3), so a printer
// that logs in for every scan pays yescrypt once per TTL, not per session.
// Entries are HMAC-SHA256(key, user, password, hash) with a per-process random
// key: the cache never holds a password or anything that could be reversed
// into one. The stored hash is part of the MAC, so a changed hash misses.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace xr::auth {

class LoginCache {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LoginCache(std::chrono::seconds ttl, std::size_t max_entries = 10000);

  bool check(std::string_view user, std::string_view password, std::string_view hash);
  void remember(std::string_view user, std::string_view password, std::string_view hash);
  void flush();  // on config reload
  void set_ttl(std::chrono::seconds ttl);

 private:
  using Digest = std::array<std::uint8_t, 32>;
  Digest mac(std::string_view user, std::string_view password, std::string_view hash) const;
  struct DigestHash {
    std::size_t operator()(const Digest& d) const;
  };
  std::array<std::uint8_t, 32> key_{};
  mutable std::mutex mutex_;
  std::chrono::seconds ttl_;
  std::size_t max_entries_;
  std::unordered_map<Digest, Clock::time_point, DigestHash> entries_;
};

}  // namespace xr::auth
