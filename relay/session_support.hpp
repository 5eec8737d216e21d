// Small pieces every session kind (SMTP, IMAP, POP3) shares: peer addresses
// for logs and rules, the off-thread password check, the failed-login pause.
#pragma once

#include "auth/access_policy.hpp"
#include "relay/asio.hpp"
#include "relay/runtime.hpp"

#include <chrono>
#include <string>

namespace xr::relay {

using SteadyClock = std::chrono::steady_clock;

std::string endpoint_string(const tcp::endpoint& ep);  // "1.2.3.4:25", "[::1]:25"
std::string peer_of(const tcp::socket& s);
conf::IpAddress ip_of(const tcp::socket& s);  // v4-mapped addresses come back as IPv4
long long ms_since(SteadyClock::time_point t);

// crypt(3) runs on the blocking pool, never on an I/O thread. `password` is
// wiped afterwards.
net::awaitable<auth::LoginDecision> check_login_off_thread(Services& svc, const conf::Config& cfg,
                                                          const std::string& user, std::string& password,
                                                          const conf::IpAddress& source, conf::Protocol protocol);

// After a failed login: 250-1000 ms, random, so failures cannot be timed and
// password guessing is slowed.
net::awaitable<void> failed_login_pause();

}  // namespace xr::relay
