// Which proxy a token request goes through, and what its failures mean.
// The config resolved the tenant's proxy (conf/egress_proxy.hpp); this picks
// it for the token URL's host (NO_PROXY) and explains a refused CONNECT.
#pragma once

#include "auth/http_client.hpp"
#include "auth/token.hpp"
#include "conf/config.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace xr::auth {

// Host and port of an https:// URL ("https://h:8443/x" -> h, 8443; no port:
// 443). An IPv6 literal comes without brackets.
struct HttpsTarget {
  std::string host;
  std::uint16_t port = 443;
  std::string to_string() const;  // "h:443", "[::1]:443": as CONNECT names it
};
HttpsTarget https_target(std::string_view url);

// Sets req.proxy_url and req.proxy_credentials from the tenant's proxy for
// req.url's host, or clears them (direct).
void route_through_proxy(const conf::Tenant& tenant, HttpRequest& req);

// The TokenError for a response whose proxy hop failed (resp.proxy_failed):
// what the proxy did, naming it, and the fix. 403 and 407 (or 401) are not transient
// (the proxy's policy or our credentials); the background retry still runs.
TokenError proxy_error(const HttpResponse& resp);

}  // namespace xr::auth
