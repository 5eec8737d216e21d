// IPv4/IPv6 networks for `sources:` rules, without any socket library.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace xr::conf {

// An IP address in 16 bytes; IPv4 is stored as IPv4-mapped IPv6 so one
// comparison covers both (a v4 client on a dual-stack socket arrives mapped).
struct IpAddress {
  std::array<std::uint8_t, 16> bytes{};
  static std::optional<IpAddress> parse(std::string_view text);  // "1.2.3.4", "::1", "::ffff:1.2.3.4"
  bool is_v4() const;
  std::string to_string() const;
  bool operator==(const IpAddress&) const = default;
};

struct Cidr {
  IpAddress network;
  int prefix = 0;  // in the 128-bit space (an IPv4 /24 is stored as /120)
  // "192.168.10.0/24", "fd00::/64"; a bare address means a single host.
  // Host bits set below the prefix are an error (a likely typo).
  static std::optional<Cidr> parse(std::string_view text, std::string* error = nullptr);
  bool contains(const IpAddress& addr) const;
  std::string to_string() const;
};

}  // namespace xr::conf
