// The outbound HTTP proxy a tenant's traffic goes through: token requests
// (curl, auth/http_client_curl.cpp) and the upstream SMTP/IMAP/POP3
// connections (HTTP CONNECT, relay/net/proxy_tunnel.*). TLS to Office 365
// stays end to end inside the tunnel; the proxy only sees host and port.
//
// Where it comes from (conf/load_tenants.cpp): a tenant's `proxy:` and
// `proxy_auth_file:`, or, when `proxy:` is absent, the relay's environment
// (HTTPS_PROXY / https_proxy, NO_PROXY / no_proxy) as curl reads it. The
// loader resolves this once; nothing else reads those variables (curl is
// told the proxy, or "" for direct), so the config is the single truth.
#pragma once

#include "conf/secret.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xr::conf {

struct EgressProxy {
  // "http://proxy.corp:3128" as normalised (scheme, host, explicit port),
  // never with credentials: safe to log and to put in error messages.
  std::string url;
  // "proxy.corp"; an IPv6 literal without brackets ("::1").
  std::string host;
  // As written; when the URL has none, 1080, as curl assumes for a proxy
  // string without a port (`man curl`, --proxy), so HTTPS_PROXY means the
  // same to the relay as to curl. (The field's default only matters for
  // hand-built values.)
  std::uint16_t port = 1080;
  // Absolute path of a file with one line "user:password" (Basic auth).
  std::optional<std::string> auth_file;
  // "user:password" loaded from auth_file at load/reload (so a reload reads
  // a rotated password); empty: no Proxy-Authorization is sent.
  Secret credentials;
  // Where it came from, for messages: "tenants.contoso.proxy" or "HTTPS_PROXY".
  std::string origin;

  bool operator==(const EgressProxy&) const = default;
};

// Parses a proxy URL as `proxy:` or HTTPS_PROXY holds it: "http://host[:port][/]",
// also "host[:port]" without a scheme (curl assumes http://), and
// "http://[::1]:3128". Returns the error (never echoing a password) or fills
// url/host/port of `out`.
std::optional<std::string> parse_proxy_url(std::string_view text, EgressProxy& out);

// NO_PROXY (a comma- or space-separated list) split into entries, lower-case,
// without empty ones.
std::vector<std::string> split_no_proxy(std::string_view text);

// NO_PROXY semantics as curl: "*" = everything; "example.com" and
// ".example.com" match the host and its subdomains; IP literals ("10.1.2.3",
// "::1", "[::1]") and CIDRs ("10.0.0.0/8") match addresses. Case-insensitive;
// a host written as an IP literal is matched only against IPs and CIDRs.
bool no_proxy_matches(const std::vector<std::string>& no_proxy, std::string_view host);

}  // namespace xr::conf
