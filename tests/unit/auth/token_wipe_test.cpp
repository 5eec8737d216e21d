// The token endpoint's answer holds the access token: once parsed, the
// response body is overwritten, not just released.
#include "auth/token_request.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace xr::auth;

TEST_CASE("consume_token_response parses, then zeroes and empties the body that held the token") {
  const std::string token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.payload-of-the-test-token.signature";
  HttpResponse resp;
  resp.status = 200;
  resp.body = R"({"token_type":"Bearer","expires_in":3599,"access_token":")" + token + R"("})";
  const char* storage = resp.body.data();
  const std::size_t capacity = resp.body.capacity();
  auto r = consume_token_response(resp, Clock::now());
  REQUIRE(r.ok);
  CHECK(r.token.value.reveal() == token);
  CHECK(resp.body.empty());
  REQUIRE(resp.body.data() == storage);  // same buffer, still owned by the string
  for (std::size_t i = 0; i < capacity; ++i) CHECK(storage[i] == '\0');
}

TEST_CASE("consume_token_response wipes an error answer too") {
  HttpResponse resp;
  resp.status = 400;
  resp.body = R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."})";
  const char* storage = resp.body.data();
  const std::size_t size = resp.body.size();
  auto r = consume_token_response(resp, Clock::now());
  CHECK_FALSE(r.ok);
  CHECK(r.error.error == "invalid_client");
  CHECK(resp.body.empty());
  REQUIRE(resp.body.data() == storage);  // same buffer, still owned by the string: reading it is defined
  for (std::size_t i = 0; i < size; ++i) CHECK(storage[i] == '\0');
}
