// Who may use the relay and as which mailbox: the `users:` and `no_auth:`
// rules of the config, applied to a login attempt or a source address.
#pragma once

#include "auth/login_cache.hpp"
#include "conf/config.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace xr::auth {

// What a session is allowed to do once admitted.
struct Grant {
  std::string user;     // local user name, or "" for a no_auth rule
  std::string tenant;   // key into Config::tenants
  std::string mailbox;  // Office 365 mailbox (XOAUTH2 user=)
  std::vector<std::string> senders;  // allowed MAIL FROM patterns
  conf::SenderRewrite rewrite_sender;  // what to do with other senders
  conf::Delivery delivery = conf::Delivery::direct;  // pass-through or the spool
};

enum class LoginFailure {
  none,
  unknown_user,
  bad_password,
  protocol_not_allowed,
  source_not_allowed,
};
const char* to_string(LoginFailure);

struct LoginDecision {
  std::optional<Grant> grant;
  LoginFailure failure = LoginFailure::none;
  bool cached = false;  // answered by the login cache, no crypt(3) run
};

// Checks user + password + source + protocol. May run crypt(3): call it off
// the I/O threads. Unknown users still cost one crypt(3) run against a dummy
// hash so timing does not reveal which user names exist.
LoginDecision check_login(const conf::Config& cfg, LoginCache& cache, std::string_view user,
                          std::string_view password, const conf::IpAddress& source,
                          conf::Protocol protocol);

// The same decision when the login cache can give it without crypt(3), so it
// may run on an I/O thread: nullopt when the attempt must go to
// check_login() (unknown user, a password not remembered or expired).
std::optional<LoginDecision> check_login_cached(const conf::Config& cfg, LoginCache& cache, std::string_view user,
                                                std::string_view password, const conf::IpAddress& source,
                                                conf::Protocol protocol);

// The login cache's key for this attempt, for single flight (see
// LoginCache::join), or nullopt when there is nothing to share: an unknown
// user (no hash: its dummy check is never cached) or a disabled cache.
std::optional<LoginCache::Key> login_flight_key(const conf::Config& cfg, const LoginCache& cache,
                                                std::string_view user, std::string_view password);

// The first no_auth rule whose sources contain the address.
std::optional<Grant> match_no_auth(const conf::Config& cfg, const conf::IpAddress& source);

// Sender policy: patterns are exact addresses ("a@b.com") or "*@domain"
// (case-insensitive). The null sender "<>" is never allowed.
bool sender_allowed(const std::vector<std::string>& patterns, std::string_view address);

}  // namespace xr::auth
