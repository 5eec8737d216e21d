#include "relay/session/sessions_per_ip.hpp"

#include "auth/source_network.hpp"

namespace xr::relay {

SessionsPerIp::Token::~Token() {
  if (owner_) owner_->leave(ip_);
}

std::optional<SessionsPerIp::Token> SessionsPerIp::try_enter(const conf::IpAddress& ip, std::size_t limit) {
  std::lock_guard lock(mutex_);
  auto& n = counts_[auth::source_network(ip).bytes];
  // A new source gets a 0 entry, which any limit lets in: a refusal always
  // finds n >= limit > 0, so it never leaves an empty entry behind.
  if (limit > 0 && n >= limit) return std::nullopt;
  ++n;
  return Token(this, ip);
}

void SessionsPerIp::leave(const conf::IpAddress& ip) {
  std::lock_guard lock(mutex_);
  auto it = counts_.find(auth::source_network(ip).bytes);
  if (it == counts_.end()) return;
  if (--it->second == 0) counts_.erase(it);
}

std::size_t SessionsPerIp::count(const conf::IpAddress& ip) const {
  std::lock_guard lock(mutex_);
  auto it = counts_.find(auth::source_network(ip).bytes);
  return it == counts_.end() ? 0 : it->second;
}

std::size_t SessionsPerIp::addresses() const {
  std::lock_guard lock(mutex_);
  return counts_.size();
}

}  // namespace xr::relay
