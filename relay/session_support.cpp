#include "relay/session_support.hpp"

#include "protocols/secret.hpp"
#include "relay/session/login_flight.hpp"

#include <fmt/format.h>
#include <openssl/rand.h>

#include <algorithm>
#include <optional>

namespace xr::relay {

std::string endpoint_string(const tcp::endpoint& ep) {
  auto addr = ep.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped())
    addr = net::ip::make_address_v4(net::ip::v4_mapped, addr.to_v6());
  // fmt rather than string concatenation: GCC 12 at -O3 warns (falsely)
  // about the latter here.
  if (addr.is_v6()) return fmt::format("[{}]:{}", addr.to_string(), ep.port());
  return fmt::format("{}:{}", addr.to_string(), ep.port());
}

std::string peer_of(const tcp::socket& s) {
  boost::system::error_code ec;
  auto ep = s.remote_endpoint(ec);
  return ec ? "unknown" : endpoint_string(ep);
}

conf::IpAddress ip_of(const tcp::socket& s) {
  boost::system::error_code ec;
  auto a = s.remote_endpoint(ec).address();
  if (ec) return {};
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6());
  return conf::IpAddress::parse(a.to_string()).value_or(conf::IpAddress{});
}

long long ms_since(SteadyClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t).count();
}

net::awaitable<void> failed_login_pause() {
  unsigned short r = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&r), sizeof r);
  net::steady_timer delay(co_await net::this_coro::executor, std::chrono::milliseconds(250 + r % 750));
  co_await delay.async_wait(net::as_tuple(net::use_awaitable));
}

namespace {

void record_login(auth::AuthThrottle& throttle, const auth::LoginDecision& d, const conf::IpAddress& source,
                  const std::string& user) {
  if (d.grant) throttle.record_success(source, user);
  else throttle.record_failure(source, user);
}

// The throttle's verdict when it refuses; else, for a login the cache
// remembers (one HMAC), the decision, made on the I/O thread without the two
// thread hand-overs of a pool check and counted by the throttle the same way.
// Nullopt: the pool decides.
std::optional<ThrottledLogin> answer_from_cache(Services& svc, const conf::Config& cfg, const std::string& user,
                                                const std::string& password, const conf::IpAddress& source,
                                                conf::Protocol protocol) {
  ThrottledLogin r;
  r.blocked = svc.throttle.check(source, user);
  if (!r.blocked.ok()) return r;
  auto cached = auth::check_login_cached(cfg, svc.login_cache, user, password, source, protocol);
  if (!cached) return std::nullopt;
  r.decision = std::move(*cached);
  record_login(svc.throttle, r.decision, source, user);
  return r;
}

}  // namespace

net::awaitable<ThrottledLogin> check_login_throttled(Services& svc, const conf::Config& cfg, const std::string& user,
                                                     std::string& password, const conf::IpAddress& source,
                                                     conf::Protocol protocol) {
  // Refused by the throttle, or answered by the cache: no pool check.
  if (auto early = answer_from_cache(svc, cfg, user, password, source, protocol)) {
    wipe_secret(password);
    co_return std::move(*early);
  }
  // Single flight: if this very login (user, password) is already being
  // checked, wait for that check instead of paying yescrypt again; ours then
  // finds the answer in the login cache. Each attempt still runs its own
  // check on the pool, so each is judged by the throttle and each failure is
  // counted, and a wrong password is never taken for a right one.
  const std::optional<auth::LoginCache::Key> flight = auth::login_flight_key(cfg, svc.login_cache, user, password);
  std::optional<LoginFlightLead> lead;
  if (flight) {
    const bool leader = co_await join_login_flight(svc.login_cache, *flight);
    if (leader) {
      lead.emplace(svc.login_cache, *flight);
    } else if (auto cached = answer_from_cache(svc, cfg, user, password, source, protocol)) {
      wipe_secret(password);  // the leader's password was ours and right: remembered
      co_return std::move(*cached);
    }
  }
  ThrottledLogin out = co_await net::co_spawn(
      svc.blocking,
      [&]() -> net::awaitable<ThrottledLogin> {
        ThrottledLogin r;
        // The pool may have been busy with a flood: ask again before paying.
        r.blocked = svc.throttle.check(source, user);
        if (!r.blocked.ok()) co_return r;
        r.decision = auth::check_login(cfg, svc.login_cache, user, password, source, protocol);
        // Recorded here, on the pool, before the next queued check asks:
        // a flood's checks are refused from the one that completes a block.
        // Every refusal of our own check counts, whatever the reason: a count
        // that stood still for "right password, wrong source" would tell
        // the password.
        record_login(svc.throttle, r.decision, source, user);
        co_return r;
      },
      net::use_awaitable);
  if (lead) lead->finish();  // after our check's remember(): the followers' checks hit the cache
  wipe_secret(password);
  co_return out;
}

net::awaitable<bool> admit_source(Services& svc, const std::string& session_id, const conf::Listener& listener,
                                  const std::string& client, const conf::IpAddress& ip, Connection& conn,
                                  std::string_view refusal) {
  const auto verdict = svc.throttle.check_source(ip);
  if (verdict.ok()) co_return true;
  note_auth_blocked(svc, session_id, listener.protocol, client, "", verdict);
  if (listener.tls != conf::TlsMode::implicit) {
    const std::string line = std::string(refusal) + "\r\n";
    co_await conn.write_all(line, std::chrono::seconds(5));
  }
  co_await conn.close(std::chrono::seconds(2));
  co_return false;
}

const char* login_metric_outcome(const auth::LoginDecision& d) { return d.grant ? "ok" : "denied"; }

void note_auth_blocked(Services& svc, const std::string& session_id, conf::Protocol protocol,
                       const std::string& client, std::string_view user, const auth::ThrottleVerdict& v) {
  const char* scope = auth::to_string(v.scope());
  svc.metrics.add("xoauth2_relay_auth_blocked_total", {{"protocol", conf::to_string(protocol)}, {"scope", scope}});
  svc.log.log(conf::LogLevel::warn, session_id, "auth_blocked",
              {{"client", client}, {"user", user.empty() ? std::string_view("-") : user}, {"scope", scope},
               {"retry_after_s", v.retry_after.count()}});
}

}  // namespace xr::relay
