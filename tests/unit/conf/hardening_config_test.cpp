// The hardening keys: brute-force throttle, per-source limits, trusted
// networks, PROXY protocol, admin access, server.user.
#include "conf_test_support.hpp"

using namespace xr::conf;
using namespace xr::conf::test;
using namespace std::chrono_literals;

TEST_CASE("hardening: defaults when nothing is written") {
  Fixture f;
  auto r = f.load(base_tenant() + base_listener() + base_user());
  XR_INFO_ERRORS(r);
  REQUIRE(r.config);
  const auto& l = r.config->limits;
  CHECK(l.auth_failures_per_ip == 10);
  CHECK(l.auth_failures_per_user == 30);
  CHECK(l.auth_failure_window == 600s);
  CHECK(l.auth_block_time == 900s);
  CHECK(l.max_sessions_per_ip == 50);
  CHECK(l.handshake_timeout == 30s);
  CHECK(l.max_session_lifetime == 24h);
  CHECK(l.max_header_size == 1024 * 1024);
  CHECK(r.config->trusted_networks.empty());
  CHECK(r.config->run_as_user == "xoauth2-relay");
  CHECK_FALSE(r.config->listeners.at(0).proxy_protocol);
}

TEST_CASE("hardening: every key read as written") {
  Fixture f;
  auto r = f.load(base_tenant() +
                  "listeners:\n"
                  "  - listen: \"127.0.0.1:2525\"\n"
                  "    tls: none\n"
                  "    proxy_protocol: true\n"
                  "    proxy_from: [\"10.0.0.5/32\", \"fd00::5\"]\n"
                  "admin:\n  listen: \"0.0.0.0:9187\"\n  allow_from: [\"192.168.1.0/24\"]\n"
                  "server:\n  user: mailrelay\n"
                  "trusted_networks: [\"10.20.0.0/16\"]\n"
                  "limits:\n"
                  "  auth_failures_per_ip: 5\n  auth_failures_per_user: 0\n  auth_failure_window: 1m\n"
                  "  auth_block_time: 2h\n  max_sessions_per_ip: 7\n  handshake_timeout: 10s\n"
                  "  max_session_lifetime: 1d\n  max_header_size: 64K\n" +
                  base_user());
  XR_INFO_ERRORS(r);
  REQUIRE(r.config);
  const auto& c = *r.config;
  CHECK(c.limits.auth_failures_per_ip == 5);
  CHECK(c.limits.auth_failures_per_user == 0);
  CHECK(c.limits.auth_failure_window == 60s);
  CHECK(c.limits.auth_block_time == 2h);
  CHECK(c.limits.max_sessions_per_ip == 7);
  CHECK(c.limits.handshake_timeout == 10s);
  CHECK(c.limits.max_session_lifetime == 24h);
  CHECK(c.limits.max_header_size == 64 * 1024);
  CHECK(c.run_as_user == "mailrelay");
  REQUIRE(c.trusted_networks.size() == 1);
  CHECK(c.trusted(*IpAddress::parse("10.20.3.4")));
  CHECK_FALSE(c.trusted(*IpAddress::parse("10.21.3.4")));
  const auto& l = c.listeners.at(0);
  CHECK(l.proxy_protocol);
  REQUIRE(l.proxy_from.size() == 2);
  CHECK(l.proxy_from[0].contains(*IpAddress::parse("10.0.0.5")));
  REQUIRE(c.admin);
  REQUIRE(c.admin->allow_from.size() == 1);
  CHECK(c.admin->allow_from[0].contains(*IpAddress::parse("192.168.1.77")));
}

TEST_CASE("hardening: admin allows loopback only unless told otherwise") {
  Fixture f;
  auto r = f.load(base_tenant() + base_listener() + "admin:\n  listen: \"127.0.0.1:9187\"\n" + base_user());
  XR_INFO_ERRORS(r);
  REQUIRE(r.config);
  REQUIRE(r.config->admin);
  bool v4 = false, v6 = false, other = false;
  for (const auto& c : r.config->admin->allow_from) {
    v4 = v4 || c.contains(*IpAddress::parse("127.0.0.1"));
    v6 = v6 || c.contains(*IpAddress::parse("::1"));
    other = other || c.contains(*IpAddress::parse("192.168.1.1"));
  }
  CHECK(v4);
  CHECK(v6);
  CHECK_FALSE(other);
}

TEST_CASE("hardening: mistakes are named with the fix") {
  Fixture f;
  // base_tenant is 5 lines; the listener starts on line 6.
  auto no_from = f.load(base_tenant() +
                        "listeners:\n  - listen: \"127.0.0.1:2525\"\n    tls: none\n    proxy_protocol: true\n");
  CHECK(contains(expect_error(no_from, "listeners[0].proxy_protocol", 9, 5), "needs proxy_from"));
  auto stray = f.load(base_tenant() +
                      "listeners:\n  - listen: \"127.0.0.1:2525\"\n    tls: none\n    proxy_from: [\"10.0.0.5\"]\n");
  CHECK(contains(expect_error(stray, "listeners[0].proxy_from", 9, 5), "unused without proxy_protocol"));
  auto bad_net = f.load(base_tenant() + base_listener() + "trusted_networks: [\"10.0.0.1/8\"]\n");
  CHECK(contains(expect_error(bad_net, "trusted_networks[0]", 9, 20), "10.0.0.1/8"));
  auto empty = f.load(base_tenant() + base_listener() + "trusted_networks: []\n" + base_user());
  XR_INFO_ERRORS(empty);
  CHECK(empty.config.has_value());
  auto zero = f.load(base_tenant() + base_listener() + "limits:\n  handshake_timeout: 0\n");
  CHECK(contains(expect_error(zero, "limits.handshake_timeout", 10, 22), "at least 1 second"));
  auto small = f.load(base_tenant() + base_listener() + "limits:\n  max_header_size: 100\n");
  CHECK(contains(expect_error(small, "limits.max_header_size", 10, 20), "at least 1K"));
  auto user = f.load(base_tenant() + base_listener() + "server:\n  user: \"a b\"\n");
  CHECK(contains(expect_error(user, "server.user", 10, 9), "a user name"));
}
