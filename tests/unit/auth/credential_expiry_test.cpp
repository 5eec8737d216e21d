#include "auth/credential_expiry.hpp"

#include "test_pki.hpp"

#include <doctest/doctest.h>

using namespace xr;
using namespace xr::auth;
using namespace std::chrono_literals;
using Clock = std::chrono::system_clock;

namespace {

conf::Tenant secret_tenant() {
  conf::Tenant t;
  t.name = "contoso";
  t.client_id = "8a1b2c3d-0000-4000-8000-000000000002";
  t.client_secret_file = "/etc/xoauth2-relay/contoso.secret";
  return t;
}

}  // namespace

TEST_CASE("a secret's expiry comes from client_secret_expires, unknown without it") {
  auto t = secret_tenant();
  CHECK_FALSE(credential_expiry(t).has_value());
  t.client_secret_expires = std::chrono::sys_days(std::chrono::year(2027) / 5 / 1);
  auto e = credential_expiry(t);
  REQUIRE(e);
  CHECK(e->credential == "client secret");
  CHECK(e->at == Clock::time_point(std::chrono::sys_days(std::chrono::year(2027) / 5 / 1)));
  auto fix = expiry_fix(t);
  CHECK(fix.find("8a1b2c3d-0000-4000-8000-000000000002 > Certificates & secrets") != std::string::npos);
  CHECK(fix.find("/etc/xoauth2-relay/contoso.secret") != std::string::npos);
}

TEST_CASE("a certificate's expiry is its notAfter") {
  auth::test::TempDir dir;
  EVP_PKEY* key = auth::test::make_key("EC");
  auth::test::write_self_signed(key, dir.abs("app.crt"));  // valid for one hour
  EVP_PKEY_free(key);
  auto t = secret_tenant();
  t.client_secret_file.reset();
  t.certificate = conf::CertificateCredential{dir.abs("app.crt"), dir.abs("app.key")};
  auto e = credential_expiry(t);
  REQUIRE(e);
  CHECK(e->credential == "certificate " + dir.abs("app.crt"));
  auto left = e->at - Clock::now();
  CHECK(left > 3500s);
  CHECK(left <= 3601s);
  CHECK(expiry_state(e->at, Clock::now()) == ExpiryState::soon);
  CHECK(expiry_fix(t).find("upload a renewed certificate") != std::string::npos);
  t.certificate->cert_file = dir.abs("missing.crt");
  CHECK_THROWS_AS(credential_expiry(t), std::runtime_error);
}

TEST_CASE("expiry states: warned from 30 days before, expired at the moment itself") {
  auto now = Clock::now();
  CHECK(expiry_state(now + std::chrono::days(31), now) == ExpiryState::ok);
  CHECK(expiry_state(now + std::chrono::days(30), now) == ExpiryState::soon);
  CHECK(expiry_state(now + 1s, now) == ExpiryState::soon);
  CHECK(expiry_state(now, now) == ExpiryState::expired);
  CHECK(expiry_state(now - std::chrono::days(3), now) == ExpiryState::expired);
}
