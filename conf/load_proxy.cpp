// A tenant's outbound proxy: `proxy:`, `proxy_auth_file:`, `no_proxy:`, or
// the relay's environment (HTTPS_PROXY, NO_PROXY) when `proxy:` is absent.
// Resolved here once, so token requests and upstream CONNECTs agree and
// check-config shows what `run` will use.
#include "conf/egress_proxy.hpp"
#include "conf/files.hpp"
#include "conf/loader.hpp"

#include <cctype>
#include <cstdlib>
#include <utility>

namespace xr::conf {
namespace {

struct EnvValue {
  std::string name;   // the variable that was set ("https_proxy" or "HTTPS_PROXY")
  std::string value;
};

// curl's order: the lower-case name first, then the upper-case one; an empty
// value counts as unset.
std::optional<EnvValue> env_pair(const char* lower_name, const char* upper_name) {
  for (const char* n : {lower_name, upper_name}) {
    const char* v = std::getenv(n);
    if (v && *v) return EnvValue{n, v};
  }
  return std::nullopt;
}

bool is_direct(const std::string& v) { return v == "none" || v == "direct"; }

// The proxy written under the tenant.
void read_written_proxy(LoadContext& ctx, const Entry& e, Tenant& t, bool& direct) {
  auto v = read_string(ctx.diag, e);
  if (!v) return;
  if (is_direct(*v)) {
    direct = true;
    return;
  }
  EgressProxy p;
  if (auto err = parse_proxy_url(*v, p)) {
    ctx.diag.add(e.mark(), e.path, *err + " (or write `none` to connect directly)");
    return;
  }
  p.origin = e.path;
  t.proxy = std::move(p);
}

// HTTPS_PROXY from the environment, for a tenant without `proxy:`.
void read_env_proxy(LoadContext& ctx, const MapReader& m, Tenant& t) {
  auto env = env_pair("https_proxy", "HTTPS_PROXY");
  if (!env) return;
  EgressProxy p;
  if (auto err = parse_proxy_url(env->value, p)) {
    const Entry& self = m.self();
    ctx.diag.add(self.key_mark, child_path(self.path, "proxy"),
                 "this tenant has no proxy: key, so " + env->name + " from the relay's environment applies, and " +
                     *err + "; fix " + env->name + ", or write proxy: http://host:port (or proxy: none) here");
    return;
  }
  p.origin = env->name;
  t.proxy = std::move(p);
}

// One entry of `no_proxy:` or NO_PROXY: "*", a host or domain (".corp" or
// "corp"), an IP address or a network.
bool valid_no_proxy_entry(const std::string& s) {
  if (s == "*") return true;
  if (s.find('/') != std::string::npos || s.find(':') != std::string::npos ||
      s.find_first_not_of("0123456789.") == std::string::npos) {
    std::string ip = s;
    if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
    return Cidr::parse(ip).has_value() || IpAddress::parse(ip.substr(0, ip.find('/'))).has_value();
  }
  std::string name = s.front() == '.' ? s.substr(1) : s;
  if (name.empty()) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_') return false;
  return true;
}

void read_no_proxy(LoadContext& ctx, const Entry& e, Tenant& t) {
  auto items = read_list(ctx.diag, e, "[\"localhost\", \".corp.example\", \"10.0.0.0/8\"]");
  if (!items) return;
  for (const auto& item : *items) {
    auto text = read_string(ctx.diag, item);
    if (!text) continue;
    auto parts = split_no_proxy(*text);
    if (parts.size() != 1 || !valid_no_proxy_entry(parts.front())) {
      ctx.diag.add(item.mark(), item.path, "`" + *text + "` is not a host, domain (.example.com), IP address, "
                                           "network (10.0.0.0/8) or \"*\"; write one per list item");
      continue;
    }
    t.no_proxy.push_back(parts.front());
  }
}

// `proxy_auth_file`: one line "user:password", private like a client secret.
void read_proxy_auth(LoadContext& ctx, const Entry& e, Secret& out, std::optional<std::string>& path_out) {
  auto path = read_path(ctx, e);
  if (!path) return;
  Secret value;
  if (auto err = read_secret_file(*path, value)) {
    // read_secret_file speaks of client secrets; this file holds user:password.
    std::string why = *err;
    for (auto [from, to] : {std::pair<std::string, std::string>{"put the client secret's value in it",
                                                                 "write one line user:password in it"},
                            {"it should hold only the client secret", "it should hold only one line user:password"}})
      if (auto at = why.find(from); at != std::string::npos) why.replace(at, from.size(), to);
    const bool says_fix = why.find("; run: chmod") != std::string::npos || why.find(" in it") != std::string::npos ||
                          why.find("only one line") != std::string::npos;
    ctx.diag.add(e.mark(), e.path,
                 says_fix ? why
                          : why + "; the file holds one line user:password for the proxy's Basic authentication "
                                  "(mode 0600, readable by the relay's user); relative paths start at the config "
                                  "file's directory");
    return;
  }
  // Never echoed: the file's contents are the password.
  const std::string& v = value.reveal();
  if (v.find('\n') != std::string::npos || v.find('\r') != std::string::npos) {
    ctx.diag.add(e.mark(), e.path, "`" + *path + "` has more than one line; write exactly one line user:password");
    return;
  }
  const auto colon = v.find(':');
  if (colon == std::string::npos) {
    ctx.diag.add(e.mark(), e.path, "`" + *path + "` has no ':'; write one line user:password (the proxy's user "
                                   "name, a colon, then its password)");
    return;
  }
  if (colon == 0) {
    ctx.diag.add(e.mark(), e.path, "`" + *path + "` has no user name before the ':'; write one line user:password");
    return;
  }
  const char last = v.back();
  if (last == ' ' || last == '\t')
    ctx.diag.warn(e.mark(), e.path, "`" + *path + "` ends in white space, which is sent as part of the password; "
                                    "remove it unless the password really ends so");
  path_out = *path;
  out = std::move(value);
}

}  // namespace

void read_tenant_proxy(LoadContext& ctx, const MapReader& m, Tenant& t) {
  bool direct = false;
  const auto written = m.get("proxy");
  if (written) read_written_proxy(ctx, *written, t, direct);
  else read_env_proxy(ctx, m, t);

  // The tenant's list replaces NO_PROXY, as its proxy: replaces HTTPS_PROXY.
  if (auto f = m.get("no_proxy")) {
    read_no_proxy(ctx, *f, t);
  } else if (auto env = env_pair("no_proxy", "NO_PROXY")) {
    t.no_proxy = split_no_proxy(env->value);
  }

  auto auth = m.get("proxy_auth_file");
  if (!auth) return;
  if (direct) {
    ctx.diag.add(auth->key_mark, auth->path, "proxy: " + written->value.as<std::string>() +
                                                 " connects directly, so no proxy credentials are sent; remove "
                                                 "proxy_auth_file or name the proxy in proxy:");
    return;
  }
  Secret credentials;
  std::optional<std::string> path;
  read_proxy_auth(ctx, *auth, credentials, path);
  if (!path) return;
  if (!t.proxy && written) return;  // proxy: had an error, already reported
  if (!t.proxy) {
    // Not an error: check-config run from a shell often lacks the service's
    // HTTPS_PROXY. `run` logs it, and the tenant connects directly.
    ctx.diag.warn(auth->key_mark, auth->path, "there is no proxy to authenticate to: this tenant has no proxy: key "
                                              "and HTTPS_PROXY is not set in this environment; write proxy: "
                                              "http://host:port here (or set HTTPS_PROXY in the service's "
                                              "environment)");
    return;
  }
  t.proxy->auth_file = path;
  t.proxy->credentials = std::move(credentials);
}

}  // namespace xr::conf
