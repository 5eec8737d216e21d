// doctor's fix for a failed outbound proxy hop: by the proxy's answer to
// CONNECT, in the admin's terms, naming keys and files but never credentials.
#include "relay/doctor_report.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace xr;
using namespace xr::relay;

namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

struct Setup {
  conf::Tenant t;
  conf::EgressProxy proxy;
  conf::Endpoint ep{"smtp.office365.com", 587, conf::TlsMode::starttls, 3};
  Setup() {
    t.name = "contoso";
    proxy.url = "http://proxy.corp:3128";
    proxy.host = "proxy.corp";
    proxy.port = 3128;
    proxy.origin = "tenants.contoso.proxy";
  }
};

}  // namespace

TEST_CASE("doctor proxy fix: unreachable proxy names the proxy and where it was configured") {
  Setup s;
  auto fix = fix_proxy(s.t, s.proxy, s.ep, 0);
  CHECK(has(fix, "cannot reach its outbound proxy http://proxy.corp:3128 (from tenants.contoso.proxy)"));
  s.proxy.origin = "HTTPS_PROXY";
  CHECK(has(fix_proxy(s.t, s.proxy, s.ep, 0), "(from HTTPS_PROXY)"));
}

TEST_CASE("doctor proxy fix: 403 is the proxy's rules for the port, or no_proxy") {
  Setup s;
  auto fix = fix_proxy(s.t, s.proxy, s.ep, 403);
  CHECK(has(fix, "does not allow CONNECT to smtp.office365.com:587"));
  CHECK(has(fix, "SSL_ports"));
  CHECK(has(fix, "ConnectPort 587"));
  CHECK(has(fix, "tenants.contoso.no_proxy"));
}

TEST_CASE("doctor proxy fix: 407 asks for proxy_auth_file, or for the right credentials in it") {
  Setup s;
  CHECK(has(fix_proxy(s.t, s.proxy, s.ep, 407), "set tenants.contoso.proxy_auth_file"));
  s.proxy.credentials = conf::Secret("relay:hunter2");
  s.proxy.auth_file = "/etc/xoauth2-relay/proxy.auth";
  auto fix = fix_proxy(s.t, s.proxy, s.ep, 407);
  CHECK(has(fix, "did not accept the user name and password in /etc/xoauth2-relay/proxy.auth"));
  CHECK_FALSE(has(fix, "hunter2"));
  CHECK_FALSE(has(fix, "relay:"));
}

TEST_CASE("doctor proxy fix: 502/503/504 is the proxy's own way out") {
  Setup s;
  for (int status : {502, 503, 504})
    CHECK(has(fix_proxy(s.t, s.proxy, s.ep, status), "could not reach smtp.office365.com:587 itself"));
}
