#include "conf/listen_address.hpp"

#include "conf/cidr.hpp"

#include <charconv>

namespace xr::conf {

std::optional<ListenAddress> parse_listen_address(std::string_view text, std::string* error) {
  auto fail = [&](std::string why) -> std::optional<ListenAddress> {
    if (error) *error = std::move(why) + "; write ADDRESS:PORT, e.g. \"0.0.0.0:587\", \"[::]:587\" or \"127.0.0.1:2525\"";
    return std::nullopt;
  };
  std::string_view host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return fail("missing ']' after the IPv6 address");
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') return fail("missing \":PORT\" after the address");
    port_text = rest.substr(1);
    if (host.find(':') == std::string_view::npos) return fail("brackets are only for IPv6 addresses");
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return fail("missing \":PORT\"");
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return fail("an IPv6 address must be in brackets");
    if (host.empty()) return fail("missing the address before ':' (0.0.0.0 means every IPv4 address)");
  }
  auto ip = IpAddress::parse(host);
  if (!ip) return fail("`" + std::string(host) + "` is not an IP address (host names are not resolved)");
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() || port < 1 ||
      port > 65535) {
    return fail("the port must be a number from 1 to 65535");
  }
  // Store the canonical spelling so "0:0::0" and "::" compare equal.
  return ListenAddress{ip->to_string(), static_cast<std::uint16_t>(port)};
}

}  // namespace xr::conf
