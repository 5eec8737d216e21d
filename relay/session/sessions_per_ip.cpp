#include "relay/session/sessions_per_ip.hpp"

namespace xr::relay {

SessionsPerIp::Token::~Token() {
  if (owner_) owner_->leave(ip_);
}

std::optional<SessionsPerIp::Token> SessionsPerIp::try_enter(const conf::IpAddress& ip, std::size_t limit) {
  std::lock_guard lock(mutex_);
  auto& n = counts_[ip.bytes];
  if (limit > 0 && n >= limit) {
    if (n == 0) counts_.erase(ip.bytes);
    return std::nullopt;
  }
  ++n;
  return Token(this, ip);
}

void SessionsPerIp::leave(const conf::IpAddress& ip) {
  std::lock_guard lock(mutex_);
  auto it = counts_.find(ip.bytes);
  if (it == counts_.end()) return;
  if (--it->second == 0) counts_.erase(it);
}

std::size_t SessionsPerIp::count(const conf::IpAddress& ip) const {
  std::lock_guard lock(mutex_);
  auto it = counts_.find(ip.bytes);
  return it == counts_.end() ? 0 : it->second;
}

std::size_t SessionsPerIp::addresses() const {
  std::lock_guard lock(mutex_);
  return counts_.size();
}

}  // namespace xr::relay
