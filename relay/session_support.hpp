// Small pieces every session kind (SMTP, IMAP, POP3) shares: peer addresses
// for logs and rules, the off-thread password check, the failed-login pause.
#pragma once

#include "auth/access_policy.hpp"
#include "relay/asio.hpp"
#include "relay/connection.hpp"
#include "relay/runtime.hpp"

#include <chrono>
#include <string>

namespace xr::relay {

using SteadyClock = std::chrono::steady_clock;

std::string endpoint_string(const tcp::endpoint& ep);  // "1.2.3.4:25", "[::1]:25"
std::string peer_of(const tcp::socket& s);
conf::IpAddress ip_of(const tcp::socket& s);  // v4-mapped addresses come back as IPv4
long long ms_since(SteadyClock::time_point t);

// After a failed login: 250-1000 ms, random, so failures cannot be timed and
// password guessing is slowed.
net::awaitable<void> failed_login_pause();

// A login judged by the brute-force throttle first, then crypt(3) on the
// blocking pool, never on an I/O thread: a blocked source or user name costs
// no crypt(3) (the throttle is asked again on the blocking pool,
// so checks queued behind a flood are refused once a block starts). The
// outcome is recorded in the throttle. `password` is wiped.
// Concurrent checks of the same user and password share one crypt(3): the
// later ones wait, parked on their session's executor, for the first to
// finish, then are answered by the login cache (relay/session/login_flight).
struct ThrottledLogin {
  auth::ThrottleVerdict blocked;  // not ok(): refused before any password check
  auth::LoginDecision decision;   // when blocked.ok()
};
net::awaitable<ThrottledLogin> check_login_throttled(Services& svc, const conf::Config& cfg, const std::string& user,
                                                     std::string& password, const conf::IpAddress& source,
                                                     conf::Protocol protocol);

// Metrics say only ok or denied for our own check: which rule refused (wrong
// password, or right password from the wrong source) stays in the admin's log,
// so a scrape cannot serve as a password oracle.
const char* login_metric_outcome(const auth::LoginDecision& d);

// At connect, the cheap check: a blocked source hears `refusal` in the clear
// (nothing on an implicit-TLS listener, whose client could not read it; no
// handshake is spent on it) and the connection is closed. False then.
net::awaitable<bool> admit_source(Services& svc, const std::string& session_id, const conf::Listener& listener,
                                  const std::string& client, const conf::IpAddress& ip, Connection& conn,
                                  std::string_view refusal);

// event=auth_blocked and xoauth2_relay_auth_blocked_total{protocol,scope}.
void note_auth_blocked(Services& svc, const std::string& session_id, conf::Protocol protocol,
                       const std::string& client, std::string_view user, const auth::ThrottleVerdict& v);

}  // namespace xr::relay
