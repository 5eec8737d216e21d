// The unit a client source is counted in, by the brute-force throttle and
// by the sessions-per-source cap alike: an IPv4 address, or an IPv6 /64 (the
// smallest network a host is usually given; counting single IPv6 addresses
// would give one host 2^64 fresh counts). Both must agree, or a host limited
// by one would slip past the other by rotating addresses.
#pragma once

#include "conf/cidr.hpp"

#include <algorithm>
#include <cstdint>
#include <string>

namespace xr::auth {

// `ip` with the host bits of its IPv6 /64 cleared; IPv4 unchanged.
inline conf::IpAddress source_network(const conf::IpAddress& ip) {
  if (ip.is_v4()) return ip;
  conf::IpAddress net = ip;
  std::fill(net.bytes.begin() + 8, net.bytes.end(), std::uint8_t{0});
  return net;
}

// The same as text: "192.0.2.7", "2001:db8:1:2::/64".
inline std::string source_key(const conf::IpAddress& ip) {
  if (ip.is_v4()) return ip.to_string();
  return source_network(ip).to_string() + "/64";
}

}  // namespace xr::auth
