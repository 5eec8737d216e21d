#include "auth/access_policy.hpp"

#include "auth/password.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <cctype>

namespace xr::auth {
namespace {

// A real yescrypt hash of a random password, made once: checking an unknown
// user against it costs what checking a known user costs. The random bytes
// are hex-encoded: crypt(3) refuses a password with a NUL byte in it.
const std::string& dummy_hash() {
  static const std::string hash = [] {
    unsigned char random[24];
    RAND_bytes(random, sizeof random);
    static constexpr char digits[] = "0123456789abcdef";
    std::string password;
    for (unsigned char b : random) {
      password += digits[b >> 4];
      password += digits[b & 0xf];
    }
    return hash_password(password);
  }();
  return hash;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool any_contains(const std::vector<conf::Cidr>& nets, const conf::IpAddress& ip) {
  return std::any_of(nets.begin(), nets.end(), [&](const conf::Cidr& c) { return c.contains(ip); });
}

}  // namespace

const char* to_string(LoginFailure f) {
  switch (f) {
    case LoginFailure::none: return "none";
    case LoginFailure::unknown_user: return "unknown_user";
    case LoginFailure::bad_password: return "bad_password";
    case LoginFailure::protocol_not_allowed: return "protocol_not_allowed";
    case LoginFailure::source_not_allowed: return "source_not_allowed";
  }
  return "unknown";
}

namespace {

// What follows a right password: the user's sources and protocols.
LoginDecision decide_for(const conf::User& u, const conf::IpAddress& source, conf::Protocol protocol, bool cached) {
  LoginDecision d;
  d.cached = cached;
  if (!u.sources.empty() && !any_contains(u.sources, source)) {
    d.failure = LoginFailure::source_not_allowed;
    return d;
  }
  if (!u.allows(protocol)) {
    d.failure = LoginFailure::protocol_not_allowed;
    return d;
  }
  d.grant = Grant{u.name, u.tenant, u.mailbox, u.senders, u.rewrite_sender, u.delivery};
  return d;
}

}  // namespace

std::optional<LoginDecision> check_login_cached(const conf::Config& cfg, LoginCache& cache, std::string_view user,
                                                std::string_view password, const conf::IpAddress& source,
                                                conf::Protocol protocol) {
  auto it = cfg.users.find(std::string(user));
  if (it == cfg.users.end()) return std::nullopt;  // the dummy crypt(3) run keeps its timing
  const conf::User& u = it->second;
  if (!cache.check(u.name, password, u.password_hash)) return std::nullopt;
  return decide_for(u, source, protocol, true);
}

LoginDecision check_login(const conf::Config& cfg, LoginCache& cache, std::string_view user,
                          std::string_view password, const conf::IpAddress& source, conf::Protocol protocol) {
  if (auto cached = check_login_cached(cfg, cache, user, password, source, protocol)) return std::move(*cached);
  LoginDecision d;
  auto it = cfg.users.find(std::string(user));
  if (it == cfg.users.end()) {
    (void)verify_password(password, dummy_hash());
    d.failure = LoginFailure::unknown_user;
    return d;
  }
  const conf::User& u = it->second;
  // The password is checked first, whatever else is wrong, so the answer's
  // timing says nothing about the rules; and the log can then tell an admin
  // "right password, wrong network" apart from a guess.
  if (!verify_password(password, u.password_hash)) {
    d.failure = LoginFailure::bad_password;
    return d;
  }
  cache.remember(u.name, password, u.password_hash);
  return decide_for(u, source, protocol, false);
}

std::optional<LoginCache::Key> login_flight_key(const conf::Config& cfg, const LoginCache& cache,
                                                std::string_view user, std::string_view password) {
  auto it = cfg.users.find(std::string(user));
  if (it == cfg.users.end() || !cache.enabled()) return std::nullopt;
  // The same fields check_login() asks the cache with.
  return cache.key(it->second.name, password, it->second.password_hash);
}

std::optional<Grant> match_no_auth(const conf::Config& cfg, const conf::IpAddress& source) {
  for (const auto& rule : cfg.no_auth)
    if (any_contains(rule.sources, source)) return Grant{"", rule.tenant, rule.mailbox, rule.senders, rule.rewrite_sender, rule.delivery};
  return std::nullopt;
}

bool sender_allowed(const std::vector<std::string>& patterns, std::string_view address) {
  if (address.empty()) return false;  // null sender: bounces are Exchange's job, not a device's
  auto at = address.rfind('@');
  for (const auto& p : patterns) {
    if (p.size() > 2 && p[0] == '*' && p[1] == '@') {
      if (at != std::string_view::npos && at > 0 && iequals(address.substr(at + 1), std::string_view(p).substr(2)))
        return true;
    } else if (iequals(address, p)) {
      return true;
    }
  }
  return false;
}

}  // namespace xr::auth
