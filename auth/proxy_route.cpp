#include "auth/proxy_route.hpp"

#include <charconv>

namespace xr::auth {

std::string HttpsTarget::to_string() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

HttpsTarget https_target(std::string_view url) {
  HttpsTarget t;
  if (auto sep = url.find("://"); sep != std::string_view::npos) url.remove_prefix(sep + 3);
  std::string_view authority = url.substr(0, url.find_first_of("/?#"));
  if (auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    t.host = std::string(authority.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
    if (close != std::string_view::npos && close + 1 < authority.size() && authority[close + 1] == ':')
      port = authority.substr(close + 2);
  } else {
    const auto colon = authority.find(':');
    t.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  unsigned v = 0;
  if (!port.empty()) {
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec == std::errc() && end == port.data() + port.size() && v > 0 && v <= 65535)
      t.port = static_cast<std::uint16_t>(v);
  }
  return t;
}

void route_through_proxy(const conf::Tenant& tenant, HttpRequest& req) {
  const conf::EgressProxy* p = tenant.proxy_for(https_target(req.url).host);
  req.proxy_url = p ? p->url : std::string();
  req.proxy_credentials = p ? p->credentials : conf::Secret();
}

TokenError proxy_error(const HttpResponse& resp) {
  TokenError e;
  e.summary = resp.transport_error;
  switch (resp.proxy_status) {
    case 401:  // what some proxies (tinyproxy) answer to rejected credentials
    case 407:
      e.fix = "the proxy wants (other) credentials: check the user:password line in the tenant's proxy_auth_file "
              "(one line, user:password; Basic authentication) and reload";
      e.transient = false;
      break;
    case 403:
      e.fix = "the proxy's policy refuses this tunnel: ask its admin to allow CONNECT to the token endpoint's host "
              "and port 443, or reach that host directly (the tenant's no_proxy: or NO_PROXY)";
      e.transient = false;
      break;
    case 0:
      e.fix = "check that the proxy runs and that the relay may reach it (the tenant's proxy: or HTTPS_PROXY); "
              "the relay retries";
      e.transient = true;
      break;
    default:
      e.fix = "the proxy could not open the tunnel; check its log and the tenant's proxy: (or HTTPS_PROXY); the "
              "relay retries";
      e.transient = resp.proxy_status >= 500 || resp.proxy_status == 429 || resp.proxy_status == 408;
      break;
  }
  return e;
}

}  // namespace xr::auth
