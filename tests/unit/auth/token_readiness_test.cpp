// What /readyz and systemd's STATUS= say about tenants' tokens (issue 15).
#include "auth/token_readiness.hpp"

#include <doctest/doctest.h>

using namespace xr::auth;
using namespace std::chrono_literals;

namespace {

TenantTokenStatus ok(std::string name) { return {std::move(name), TenantTokenState::ok, "", "", std::nullopt}; }
TenantTokenStatus fetching(std::string name) {
  return {std::move(name), TenantTokenState::fetching, "", "", std::nullopt};
}
TenantTokenStatus failed(std::string name, std::optional<std::chrono::seconds> next = 40s) {
  return {std::move(name), TenantTokenState::failed, "AADSTS7000215 invalid client secret",
          "copy the secret's Value into the secret file, then reload", next};
}

TokenError secret_error() {
  TokenError e;
  e.summary = "AADSTS7000215 invalid client secret";
  e.fix = "copy the secret's Value into the secret file, then reload";
  return e;
}

}  // namespace

TEST_CASE("a tenant's state from the provider's stats") {
  const auto now = Clock::now();
  TokenProvider::TenantStats s;
  s.known = true;
  CHECK(tenant_token_status("c", s, now).state == TenantTokenState::fetching);  // no answer yet
  s.last_failed = true;
  s.last_error = secret_error();
  s.next_try = now + 39500ms;
  auto f = tenant_token_status("c", s, now);
  CHECK(f.state == TenantTokenState::failed);
  CHECK(f.error == "AADSTS7000215 invalid client secret");
  CHECK(f.fix == "copy the secret's Value into the secret file, then reload");
  REQUIRE(f.next_try);
  CHECK(*f.next_try == 40s);
  s.fetching = true;  // the retry is under way: no "next try" time to promise
  CHECK_FALSE(tenant_token_status("c", s, now).next_try);
  CHECK(tenant_token_status("c", s, now).state == TenantTokenState::failed);
  // A refresh failed but the token still has time: devices are served.
  s.has_token = s.usable = true;
  CHECK(tenant_token_status("c", s, now).state == TenantTokenState::ok);
  // A token past its margin counts as none.
  s.usable = false;
  s.last_failed = false;
  s.last_error.reset();
  CHECK(tenant_token_status("c", s, now).state == TenantTokenState::fetching);
}

TEST_CASE("/readyz lines name each tenant without a token, its error and its fix") {
  CHECK(token_readiness_problems({ok("a"), ok("b")}).empty());
  auto lines = token_readiness_problems({ok("a"), failed("contoso"), fetching("fabrikam")});
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] ==
        "tenant contoso has no token: AADSTS7000215 invalid client secret; "
        "fix: copy the secret's Value into the secret file, then reload; next try in 40s");
  CHECK(lines[1] == "fetching a token for tenant fabrikam");
  CHECK(token_readiness_problems({failed("c", std::nullopt)})[0].ends_with("; trying again now"));
  auto transient = failed("c");
  transient.fix = "none";  // nothing for the admin to do: not shown
  CHECK(token_readiness_problems({transient})[0].find("fix:") == std::string::npos);
}

TEST_CASE("the STATUS= line says which tenant has no token") {
  CHECK(token_status_line({ok("contoso")}) == "ready; tenant contoso has a token");
  CHECK(token_status_line({ok("a"), ok("b")}) == "ready; all 2 tenants have tokens");
  CHECK(token_status_line({failed("contoso")}) ==
        "ready; tenant contoso has no token (AADSTS7000215 invalid client secret)");
  CHECK(token_status_line({ok("a"), failed("contoso")}) ==
        "ready; tenant contoso has no token (AADSTS7000215 invalid client secret); 1 of 2 tenants have tokens");
  CHECK(token_status_line({fetching("a"), fetching("b")}) ==
        "ready; fetching a token for tenant a; fetching a token for tenant b; 0 of 2 tenants have tokens");
  CHECK(token_status_line({}) == "ready; no tenants configured");
  // Never the fix (long) in STATUS=: the log and /readyz have it.
  CHECK(token_status_line({failed("contoso")}).find("fix") == std::string::npos);
}
