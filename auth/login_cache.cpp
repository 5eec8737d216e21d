#include "auth/login_cache.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstring>
#include <stdexcept>

namespace xr::auth {

LoginCache::LoginCache(std::chrono::seconds ttl, std::size_t max_entries) : ttl_(ttl), max_entries_(max_entries) {
  if (RAND_bytes(key_.data(), static_cast<int>(key_.size())) != 1)
    throw std::runtime_error("no randomness for the login cache key");
}

std::size_t LoginCache::DigestHash::operator()(const Digest& d) const {
  std::size_t h;
  std::memcpy(&h, d.data(), sizeof h);  // already uniformly distributed
  return h;
}

LoginCache::Digest LoginCache::mac(std::string_view user, std::string_view password, std::string_view hash) const {
  // Length-prefixed fields: ("ab","c") and ("a","bc") must not collide.
  std::string msg;
  for (auto part : {user, password, hash}) {
    std::uint64_t n = part.size();
    msg.append(reinterpret_cast<const char*>(&n), sizeof n);
    msg.append(part);
  }
  Digest out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), reinterpret_cast<const unsigned char*>(msg.data()),
       msg.size(), out.data(), &len);
  OPENSSL_cleanse(msg.data(), msg.size());
  return out;
}

bool LoginCache::check(std::string_view user, std::string_view password, std::string_view hash) {
  std::lock_guard g(mutex_);
  if (ttl_.count() <= 0) return false;
  auto d = mac(user, password, hash);
  auto it = entries_.find(d);
  if (it == entries_.end()) return false;
  if (Clock::now() >= it->second) {
    entries_.erase(it);
    return false;
  }
  return true;
}

void LoginCache::remember(std::string_view user, std::string_view password, std::string_view hash) {
  std::lock_guard g(mutex_);
  if (ttl_.count() <= 0) return;
  auto now = Clock::now();
  if (entries_.size() >= max_entries_) {
    std::erase_if(entries_, [now](const auto& e) { return now >= e.second; });
    if (entries_.size() >= max_entries_) return;  // full of live entries: just verify next time
  }
  entries_[mac(user, password, hash)] = now + ttl_;
}

void LoginCache::flush() {
  std::lock_guard g(mutex_);
  entries_.clear();
}

void LoginCache::set_ttl(std::chrono::seconds ttl) {
  std::lock_guard g(mutex_);
  ttl_ = ttl;
}

bool LoginCache::enabled() const {
  std::lock_guard g(mutex_);
  return ttl_.count() > 0;
}

LoginCache::Key LoginCache::key(std::string_view user, std::string_view password, std::string_view hash) const {
  return mac(user, password, hash);
}

bool LoginCache::join(const Key& key, std::function<void()> wake) {
  std::lock_guard g(mutex_);
  auto [it, first] = flights_.try_emplace(key);
  if (!first) it->second.push_back(std::move(wake));
  return first;
}

void LoginCache::finish(const Key& key) {
  std::vector<std::function<void()>> waiting;
  {
    std::lock_guard g(mutex_);
    auto it = flights_.find(key);
    if (it == flights_.end()) return;
    waiting = std::move(it->second);
    flights_.erase(it);
  }
  // Outside the lock: a callback may join() again.
  for (auto& wake : waiting) wake();
}

std::size_t LoginCache::flights() const {
  std::lock_guard g(mutex_);
  return flights_.size();
}

}  // namespace xr::auth
