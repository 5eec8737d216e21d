#include "relay/session_support.hpp"

#include "protocols/secret.hpp"

#include <fmt/format.h>
#include <openssl/rand.h>

#include <algorithm>

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

net::awaitable<auth::LoginDecision> check_login_off_thread(Services& svc, const conf::Config& cfg,
                                                          const std::string& user, std::string& password,
                                                          const conf::IpAddress& source, conf::Protocol protocol) {
  auto decision = co_await net::co_spawn(
      svc.blocking,
      [&]() -> net::awaitable<auth::LoginDecision> {
        co_return auth::check_login(cfg, svc.login_cache, user, password, source, protocol);
      },
      net::use_awaitable);
  wipe_secret(password);
  co_return decision;
}

net::awaitable<void> failed_login_pause() {
  unsigned short r = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&r), sizeof r);
  net::steady_timer delay(co_await net::this_coro::executor, std::chrono::milliseconds(250 + r % 750));
  co_await delay.async_wait(net::as_tuple(net::use_awaitable));
}

}  // namespace xr::relay
