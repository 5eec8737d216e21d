// Concurrent sessions per client address (limits.max_sessions_per_ip), so
// one host cannot take every connection slot. IPv6 sources are counted per
// /64, as the auth throttle counts them (auth/source_network.hpp): a host
// rotating through its /64 would otherwise get a fresh count per address. Sessions run on several
// io_contexts, hence the mutex; a session holds a Token for its whole life.
#pragma once

#include "conf/cidr.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

namespace xr::relay {

class SessionsPerIp {
 public:
  // One session counted for an address; destroying it uncounts it.
  class Token {
   public:
    Token(Token&& o) noexcept : owner_(o.owner_), ip_(o.ip_) { o.owner_ = nullptr; }
    Token& operator=(Token&& o) noexcept {
      std::swap(owner_, o.owner_);
      std::swap(ip_, o.ip_);
      return *this;
    }
    Token(const Token&) = delete;
    ~Token();

   private:
    friend class SessionsPerIp;
    Token(SessionsPerIp* owner, const conf::IpAddress& ip) : owner_(owner), ip_(ip) {}
    SessionsPerIp* owner_;
    conf::IpAddress ip_;
  };

  // A token when `ip` has fewer than `limit` sessions (0: no limit), else
  // nothing. The registry must outlive its tokens.
  std::optional<Token> try_enter(const conf::IpAddress& ip, std::size_t limit);
  std::size_t count(const conf::IpAddress& ip) const;
  std::size_t addresses() const;  // sources (IPv4 addresses, IPv6 /64s) with a session; none at zero

 private:
  void leave(const conf::IpAddress& ip);
  mutable std::mutex mutex_;
  std::map<std::array<std::uint8_t, 16>, std::size_t> counts_;
};

}  // namespace xr::relay
