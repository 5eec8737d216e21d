#include "conf/cidr.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace xr::conf {
namespace {

// ::ffff:0:0/96, the IPv4-mapped block.
constexpr int kV4Offset = 96;

bool mapped_prefix(const std::array<std::uint8_t, 16>& b) {
  for (int i = 0; i < 10; ++i)
    if (b[i] != 0) return false;
  return b[10] == 0xff && b[11] == 0xff;
}

void set_error(std::string* error, std::string text) {
  if (error) *error = std::move(text);
}

// The network with every bit below `prefix` cleared.
IpAddress masked(const IpAddress& a, int prefix) {
  IpAddress out = a;
  for (int i = 0; i < 16; ++i) {
    int keep = prefix - 8 * i;  // bits of byte i inside the prefix
    if (keep >= 8) continue;
    out.bytes[i] = keep <= 0 ? 0 : std::uint8_t(out.bytes[i] & (0xff << (8 - keep)));
  }
  return out;
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  // inet_pton needs a NUL-terminated string; addresses are short.
  if (text.empty() || text.size() > 63) return std::nullopt;
  std::string s(text);
  IpAddress a;
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    a.bytes[10] = 0xff;
    a.bytes[11] = 0xff;
    const auto* p = reinterpret_cast<const std::uint8_t*>(&v4.s_addr);  // network order
    for (int i = 0; i < 4; ++i) a.bytes[12 + i] = p[i];
    return a;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    for (int i = 0; i < 16; ++i) a.bytes[i] = v6.s6_addr[i];
    return a;
  }
  return std::nullopt;
}

bool IpAddress::is_v4() const { return mapped_prefix(bytes); }

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (is_v4()) {
    in_addr v4{};
    auto* p = reinterpret_cast<std::uint8_t*>(&v4.s_addr);
    for (int i = 0; i < 4; ++i) p[i] = bytes[12 + i];
    inet_ntop(AF_INET, &v4, buf, sizeof buf);
  } else {
    in6_addr v6{};
    for (int i = 0; i < 16; ++i) v6.s6_addr[i] = bytes[i];
    inet_ntop(AF_INET6, &v6, buf, sizeof buf);
  }
  return buf;
}

std::optional<Cidr> Cidr::parse(std::string_view text, std::string* error) {
  std::string_view addr_text = text;
  std::optional<int> written_prefix;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    addr_text = text.substr(0, slash);
    std::string_view p = text.substr(slash + 1);
    int value = -1;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
    if (p.empty() || ec != std::errc{} || end != p.data() + p.size()) {
      set_error(error, "the prefix length after '/' must be a number, as in 192.168.10.0/24 or fd00::/64");
      return std::nullopt;
    }
    written_prefix = value;
  }
  auto addr = IpAddress::parse(addr_text);
  if (!addr) {
    set_error(error, "not an IP address or network; write 192.168.10.0/24, 192.168.10.5 or fd00::/64");
    return std::nullopt;
  }
  bool v4 = addr->is_v4() && addr_text.find(':') == std::string_view::npos;
  int max = v4 ? 32 : 128;
  int p = written_prefix.value_or(max);
  if (p < 0 || p > max) {
    set_error(error, "the prefix length must be 0.." + std::to_string(max) + (v4 ? " for IPv4" : " for IPv6"));
    return std::nullopt;
  }
  Cidr c;
  c.prefix = v4 ? kV4Offset + p : p;
  c.network = masked(*addr, c.prefix);
  if (!(c.network == *addr)) {
    // Host bits below the prefix are almost always a typo for the network
    // (or a /32 meant as /24): refuse rather than guess.
    set_error(error, "host bits are set below the /" + std::to_string(p) + " prefix; did you mean " +
                         c.network.to_string() + "/" +
                         std::to_string(p) + "? (or /" + std::to_string(max) + " for the single host)");
    return std::nullopt;
  }
  return c;
}

bool Cidr::contains(const IpAddress& addr) const { return masked(addr, prefix) == network; }

std::string Cidr::to_string() const {
  // An IPv4 network reads as IPv4 with its IPv4 prefix, as the admin wrote it.
  if (network.is_v4() && prefix >= kV4Offset) return network.to_string() + "/" + std::to_string(prefix - kV4Offset);
  return network.to_string() + "/" + std::to_string(prefix);
}

}  // namespace xr::conf
