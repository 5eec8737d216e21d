#include "auth/token_request.hpp"

#include <doctest/doctest.h>

using namespace xr;
using namespace xr::auth;

namespace {

conf::Tenant secret_tenant() {
  conf::Tenant t;
  t.name = "contoso";
  t.tenant_id = "5f3c1a2b-0000-4000-8000-000000000001";
  t.client_id = "8a1b2c3d-0000-4000-8000-000000000002";
  t.client_secret = conf::Secret("s3cr&t=+ value");
  return t;
}

HttpResponse answer(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace

TEST_CASE("form encoding keeps unreserved characters and escapes the rest") {
  CHECK(form_encode({{"a", "b"}}) == "a=b");
  CHECK(form_encode({{"scope", "https://outlook.office365.com/.default"}, {"x", "A-z_0.9~"}}) ==
        "scope=https%3A%2F%2Foutlook.office365.com%2F.default&x=A-z_0.9~");
  CHECK(form_encode({{"s", "a b&c=d+é"}}) == "s=a%20b%26c%3Dd%2B%C3%A9");
  CHECK(form_encode({}).empty());
}

TEST_CASE("a secret tenant's request: URL, fields, CA file") {
  auto t = secret_tenant();
  t.ca_file = "/etc/xoauth2-relay/ca.pem";
  HttpRequest req;
  TokenError err;
  REQUIRE(build_token_request(t, Clock::now(), req, err));
  CHECK(req.url == "https://login.microsoftonline.com/5f3c1a2b-0000-4000-8000-000000000001/oauth2/v2.0/token");
  CHECK(req.ca_file == t.ca_file);
  CHECK(req.form_body ==
        "client_id=8a1b2c3d-0000-4000-8000-000000000002&scope=https%3A%2F%2Foutlook.office365.com%2F.default"
        "&grant_type=client_credentials&client_secret=s3cr%26t%3D%2B%20value");
}

TEST_CASE("an unreadable certificate is an explained, permanent error") {
  auto t = secret_tenant();
  t.client_secret = conf::Secret();
  t.certificate = conf::CertificateCredential{"/nonexistent/app.crt", "/nonexistent/app.key"};
  HttpRequest req;
  TokenError err;
  CHECK_FALSE(build_token_request(t, Clock::now(), req, err));
  CHECK(err.summary.find("/nonexistent/app.crt") != std::string::npos);
  CHECK_FALSE(err.transient);
  CHECK_FALSE(err.fix.empty());
}

TEST_CASE("a token answer gives the token and its expiry") {
  auto now = Clock::now();
  auto r = parse_token_response(
      answer(200, R"({"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ.abc.def"})"),
      now);
  REQUIRE(r.ok);
  CHECK(r.token.value.reveal() == "eyJ.abc.def");
  CHECK(r.token.fetched_at == now);
  CHECK(r.token.expires_at == now + std::chrono::seconds(3599));
}

TEST_CASE("expires_in as a string is accepted") {
  auto r = parse_token_response(answer(200, R"({"expires_in":"60","access_token":"t"})"), Clock::now());
  REQUIRE(r.ok);
  CHECK(r.token.expires_at - r.token.fetched_at == std::chrono::seconds(60));
}

// Found by fuzz/fuzz_token_response: a huge expires_in overflowed the
// nanosecond arithmetic of now + seconds(lifetime) (undefined behaviour; in
// practice an expiry in the past or far future).
TEST_CASE("an absurd expires_in is capped at a day") {
  const auto now = Clock::now();
  for (const char* body : {R"({"expires_in":9223372036854775807,"access_token":"t"})",
                           R"({"expires_in":"9223372036854775807","access_token":"t"})",
                           R"({"expires_in":10000000000,"access_token":"t"})"}) {
    CAPTURE(body);
    auto r = parse_token_response(answer(200, body), now);
    REQUIRE(r.ok);
    CHECK(r.token.expires_at - r.token.fetched_at == std::chrono::hours(24));
  }
}

// fuzz_token_response found these: Boost.JSON frees the partial document of a
// truncated body with another size/alignment than it allocated, which the
// wiping allocator must survive (ASan reported new-delete-type-mismatch).
TEST_CASE("a truncated or nested JSON body is an error, never a crash") {
  for (const char* body : {R"({"a":1)", R"({"access_token":"t","expires_in":3599,"x":[1,2,{"y":"zzzzzzzzzzzzzzzzzzzzzzzz")",
                           R"([[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[)", R"({"a":"\u00e9\ud83d\ude00",)"}) {
    CAPTURE(body);
    auto r = parse_token_response(answer(200, body), Clock::now());
    CHECK_FALSE(r.ok);
    CHECK_FALSE(r.error.summary.empty());
  }
}

TEST_CASE("a 200 without a token or lifetime is an error, not a token") {
  for (const char* body : {R"({"access_token":"t"})", R"({"expires_in":3599})", R"({"expires_in":0,"access_token":"t"})",
                           R"({"expires_in":3599,"access_token":""})", "[1,2]"}) {
    CAPTURE(body);
    auto r = parse_token_response(answer(200, body), Clock::now());
    CHECK_FALSE(r.ok);
    CHECK_FALSE(r.error.summary.empty());
  }
}

TEST_CASE("an AADSTS error is explained by code, with ids and without the description") {
  auto r = parse_token_response(
      answer(401, R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. secret-ish-text",
                      "error_codes":[7000215],"timestamp":"2026-11-24 10:00:00Z",
                      "trace_id":"0c9a4b2e-1111-2222-3333-444455556666","correlation_id":"7d1e5f3a-aaaa-bbbb-cccc-ddddeeeeffff"})"),
      Clock::now());
  REQUIRE_FALSE(r.ok);
  CHECK(r.error.http_status == 401);
  CHECK(r.error.error == "invalid_client");
  CHECK(r.error.aadsts_codes == std::vector<long>{7000215});
  CHECK(r.error.summary == "AADSTS7000215 invalid client secret");
  CHECK(r.error.fix.find("Value") != std::string::npos);
  CHECK(r.error.trace_id == "0c9a4b2e-1111-2222-3333-444455556666");
  CHECK(r.error.correlation_id == "7d1e5f3a-aaaa-bbbb-cccc-ddddeeeeffff");
  CHECK_FALSE(r.error.transient);
  CHECK(r.error.summary.find("secret-ish") == std::string::npos);
  CHECK(r.error.fix.find("secret-ish") == std::string::npos);
}

TEST_CASE("an unknown AADSTS code still names the code") {
  auto r = parse_token_response(answer(400, R"({"error":"invalid_request","error_codes":[123456]})"), Clock::now());
  REQUIRE_FALSE(r.ok);
  CHECK(r.error.summary == "AADSTS123456 (invalid_request)");
  CHECK(r.error.fix.find("AADSTS123456") != std::string::npos);
}

TEST_CASE("throttling and server errors are transient; client errors are not") {
  CHECK(parse_token_response(answer(429, R"({"error":"temporarily_unavailable"})"), Clock::now()).error.transient);
  CHECK(parse_token_response(answer(503, R"({"error":"temporarily_unavailable"})"), Clock::now()).error.transient);
  CHECK(parse_token_response(answer(503, "<html>Service Unavailable</html>"), Clock::now()).error.transient);
  CHECK_FALSE(parse_token_response(answer(400, R"({"error":"invalid_request"})"), Clock::now()).error.transient);
  CHECK_FALSE(parse_token_response(answer(404, "<html>Not found</html>"), Clock::now()).error.transient);
  CHECK(parse_token_response(answer(500, R"({"error_codes":[90033]})"), Clock::now()).error.transient);
}

TEST_CASE("no HTTP answer is transient and carries the transport error") {
  HttpResponse resp;
  resp.transport_error = "Failed to connect to login.microsoftonline.com port 443";
  auto r = parse_token_response(resp, Clock::now());
  REQUIRE_FALSE(r.ok);
  CHECK(r.error.http_status == 0);
  CHECK(r.error.transient);
  CHECK(r.error.summary.find("port 443") != std::string::npos);
}

TEST_CASE("an HTML answer says so") {
  auto r = parse_token_response(answer(502, "<html>Bad Gateway</html>"), Clock::now());
  CHECK(r.error.summary == "token endpoint answered HTTP 502 without a JSON body");
}
