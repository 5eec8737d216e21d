// Proxy URLs and NO_PROXY matching, as curl reads them (lib/noproxy.c), so
// one HTTPS_PROXY/NO_PROXY means the same to the relay as to curl.
#include "conf/egress_proxy.hpp"

#include "conf/cidr.hpp"
#include "conf/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace xr::conf {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_hostname(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.front() == '-') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
  });
}

// `host` and `entry` are IP addresses; `entry` may carry a /prefix in its
// own family's bits (an IPv4 /8 is the first 8 bits of the IPv4 address).
bool ip_matches(const IpAddress& host, std::string_view entry) {
  int prefix = -1;
  if (auto slash = entry.find('/'); slash != std::string_view::npos) {
    std::string_view bits = entry.substr(slash + 1);
    int v = 0;
    auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), v);
    if (ec != std::errc() || end != bits.data() + bits.size()) return false;
    prefix = v;
    entry = entry.substr(0, slash);
  }
  if (entry.size() >= 2 && entry.front() == '[' && entry.back() == ']') entry = entry.substr(1, entry.size() - 2);
  auto net = IpAddress::parse(entry);
  if (!net) return false;
  const int width = net->is_v4() ? 32 : 128;
  if (prefix < 0 || prefix > width) prefix = width;
  if (net->is_v4()) prefix += 96;  // IPv4 is stored IPv4-mapped
  for (int bit = 0; bit < prefix; ++bit) {
    const int byte = bit / 8, mask = 0x80 >> (bit % 8);
    if ((host.bytes[byte] & mask) != (net->bytes[byte] & mask)) return false;
  }
  return true;
}

// curl: "example.com" and ".example.com" both match example.com and every
// name below it, never "nonexample.com"; a trailing dot is ignored on both.
bool name_matches(std::string_view host, std::string_view entry) {
  if (!entry.empty() && entry.back() == '.') entry.remove_suffix(1);
  if (!entry.empty() && entry.front() == '.') entry.remove_prefix(1);
  if (entry.empty()) return false;
  if (entry.size() == host.size()) return entry == host;
  return entry.size() < host.size() && host[host.size() - entry.size() - 1] == '.' && host.ends_with(entry);
}

}  // namespace

std::optional<std::string> parse_proxy_url(std::string_view text, EgressProxy& out) {
  const std::string shown(text);
  if (text.empty()) return std::string("the proxy URL is empty; write http://host:port");
  // Checked first, before anything (even the scheme) is echoed, in the whole
  // text: the part before '@' is a password, which may itself hold '/', '?',
  // '#' or "://".
  if (text.find('@') != std::string_view::npos)
    return std::string("the proxy URL holds a user name and password; write it without them "
                       "(http://host:port) and put the line user:password in a file named by proxy_auth_file "
                       "(mode 0600)");
  std::string_view rest = text;
  if (auto sep = rest.find("://"); sep != std::string_view::npos) {
    const std::string scheme = lower(rest.substr(0, sep));
    if (scheme == "https")
      return std::string("only http:// proxies are supported: the relay speaks plain HTTP to the proxy and asks "
                         "it for a CONNECT tunnel, inside which TLS to Office 365 stays end to end; write the "
                         "proxy as http://host:port");
    if (scheme != "http")
      return "`" + scheme + "://` proxies are not supported; only http:// proxies (HTTP CONNECT) are, e.g. "
                            "http://proxy.corp:3128";
    rest.remove_prefix(sep + 3);
  }
  const std::size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  if (authority_end != std::string_view::npos) {
    std::string_view tail = rest.substr(authority_end);
    if (tail != "/") return "`" + shown + "` has a path; a proxy is only scheme, host and port: http://host:port";
  }
  std::string host;
  std::string_view port_text;
  bool v6 = false;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return "`" + shown + "`: an IPv6 address needs its closing ']'";
    host = std::string(authority.substr(1, close - 1));
    auto ip = IpAddress::parse(host);
    if (!ip || ip->is_v4()) return "`" + shown + "`: `" + host + "` inside [] is not an IPv6 address";
    v6 = true;
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "`" + shown + "`: expected :port after the ']'";
      port_text = after.substr(1);
      if (port_text.empty()) return "`" + shown + "` ends in ':' without a port";
    }
  } else {
    const auto colon = authority.rfind(':');
    if (colon != std::string_view::npos && authority.find(':') != colon)
      return "`" + shown + "`: write an IPv6 address in brackets, e.g. http://[2001:db8::1]:3128";
    host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return "`" + shown + "` ends in ':' without a port";
    }
    if (!is_hostname(host)) return "`" + shown + "` has no valid host name; write http://host:port";
  }
  std::uint16_t port = 1080;  // curl's assumption for a proxy without a port
  if (!port_text.empty()) {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), v);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || v == 0 || v > 65535)
      return "`" + shown + "`: the port must be a number from 1 to 65535";
    port = static_cast<std::uint16_t>(v);
  }
  out.host = lower(host);
  out.port = port;
  out.url = "http://" + (v6 ? "[" + out.host + "]" : out.host) + ":" + std::to_string(port);
  return std::nullopt;
}

std::vector<std::string> split_no_proxy(std::string_view text) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t end = text.find_first_of(", \t", at);
    std::string_view item = text.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    if (!item.empty()) out.push_back(lower(item));
    if (end == std::string_view::npos) break;
    at = end + 1;
  }
  return out;
}

bool no_proxy_matches(const std::vector<std::string>& no_proxy, std::string_view host_in) {
  if (no_proxy.empty()) return false;
  std::string host = lower(host_in);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const auto ip = IpAddress::parse(host);
  if (!ip && !host.empty() && host.back() == '.') host.pop_back();
  // As curl: "*" means every host only when it is the whole list.
  if (no_proxy.size() == 1 && no_proxy.front() == "*") return true;
  for (const auto& raw : no_proxy) {
    const std::string entry = lower(raw);
    if (ip ? ip_matches(*ip, entry) : name_matches(host, entry)) return true;
  }
  return false;
}

const EgressProxy* Tenant::proxy_for(std::string_view host) const {
  if (!proxy || no_proxy_matches(no_proxy, host)) return nullptr;
  return &*proxy;
}

}  // namespace xr::conf
