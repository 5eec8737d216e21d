#include "auth/token_claims.hpp"

#include "protocols/base64.hpp"

#include <doctest/doctest.h>

using namespace xr;
using namespace xr::auth;

namespace {
std::string jwt_with(const std::string& payload) {
  return base64url_encode("{\"alg\":\"RS256\",\"typ\":\"JWT\"}") + "." + base64url_encode(payload) + ".c2ln";
}
}  // namespace

TEST_CASE("claims of an app-only token") {
  auto c = decode_token_claims(jwt_with(
      R"({"aud":"https://outlook.office365.com","tid":"5f3c1a2b-0000-4000-8000-000000000001",)"
      R"("appid":"8a1b2c3d-0000-4000-8000-000000000002","roles":["SMTP.SendAsApp","IMAP.AccessAsApp"],)"
      R"("exp":1795000000,"idtyp":"app"})"));
  REQUIRE(c);
  CHECK(c->tid == "5f3c1a2b-0000-4000-8000-000000000001");
  CHECK(c->appid == "8a1b2c3d-0000-4000-8000-000000000002");
  CHECK(c->has_role("SMTP.SendAsApp"));
  CHECK(c->has_role(required_role(conf::Protocol::imap)));
  CHECK_FALSE(c->has_role(required_role(conf::Protocol::pop3)));
  REQUIRE(c->exp);
  CHECK(std::chrono::system_clock::to_time_t(*c->exp) == 1795000000);
}

TEST_CASE("a token without roles, a v2 azp, and things that are not JWTs") {
  auto c = decode_token_claims(jwt_with(R"({"tid":"t","azp":"app"})"));
  REQUIRE(c);
  CHECK(c->roles.empty());
  CHECK(c->appid == "app");
  CHECK_FALSE(c->exp);
  CHECK_FALSE(decode_token_claims("opaque-token"));
  CHECK_FALSE(decode_token_claims("a.b"));
  CHECK_FALSE(decode_token_claims(jwt_with("not json")));
  CHECK_FALSE(decode_token_claims(jwt_with("[1,2]")));
}
