// The service account's JWT bearer assertion (RS256) and the token request
// built from it.
#include "auth/google_assertion.hpp"
#include "auth/google_token.hpp"
#include "auth/token_request.hpp"

#include "protocols/base64.hpp"
#include "tests/unit/auth/google_test_key.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>
#include <openssl/rsa.h>

using namespace xr;
using namespace xr::auth;

namespace {

struct Parts {
  boost::json::object header, claims;
  std::string signing_input, signature;
};

Parts split(const std::string& jwt) {
  auto a = jwt.find('.');
  auto b = jwt.find('.', a + 1);
  REQUIRE(a != std::string::npos);
  REQUIRE(b != std::string::npos);
  Parts p;
  p.header = boost::json::parse(*base64url_decode(jwt.substr(0, a))).as_object();
  p.claims = boost::json::parse(*base64url_decode(jwt.substr(a + 1, b - a - 1))).as_object();
  p.signing_input = jwt.substr(0, b);
  p.signature = *base64url_decode(jwt.substr(b + 1));
  return p;
}

bool verify_rs256(EVP_PKEY* key, const Parts& p) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), nullptr, key);
  EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING);
  int ok = EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(p.signature.data()), p.signature.size(),
                            reinterpret_cast<const unsigned char*>(p.signing_input.data()), p.signing_input.size());
  EVP_MD_CTX_free(ctx);
  return ok == 1;
}

conf::ServiceAccount account() {
  conf::ServiceAccount sa;
  sa.client_email = xr::test::kGoogleClientEmail;
  sa.client_id = xr::test::kGoogleClientId;
  sa.private_key_id = xr::test::kGoogleKeyId;
  sa.private_key = conf::Secret(xr::test::google_test_key_pem());
  return sa;
}

conf::Tenant google_tenant() {
  conf::Tenant t;
  t.name = "acme";
  t.provider = conf::Provider::google;
  t.scope = "https://mail.google.com/";
  t.service_account = account();
  return t;
}

std::string form_value(const std::string& body, const std::string& name) {
  auto at = body.find(name + "=");
  if (at == std::string::npos) return "";
  at += name.size() + 1;
  return body.substr(at, body.find('&', at) - at);
}

}  // namespace

TEST_CASE("the Google assertion: RS256 header with kid, delegation claims, a signature the key verifies") {
  const auto now = std::chrono::system_clock::from_time_t(1'800'000'000);
  auto jwt = make_google_assertion(account(), "scan@acme.com", "https://mail.google.com/", now);
  auto p = split(jwt.reveal());
  CHECK(p.header.at("alg").as_string() == "RS256");
  CHECK(p.header.at("typ").as_string() == "JWT");
  CHECK(p.header.at("kid").as_string() == xr::test::kGoogleKeyId);
  CHECK(p.claims.at("iss").as_string() == xr::test::kGoogleClientEmail);
  CHECK(p.claims.at("sub").as_string() == "scan@acme.com");
  CHECK(p.claims.at("scope").as_string() == "https://mail.google.com/");
  CHECK(p.claims.at("aud").as_string() == "https://oauth2.googleapis.com/token");
  CHECK(p.claims.at("iat").as_int64() == 1'800'000'000);
  CHECK(p.claims.at("exp").as_int64() == 1'800'003'600);
  CHECK(verify_rs256(xr::test::google_test_pkey(), p));
  // A changed claim no longer verifies.
  p.signing_input[p.signing_input.size() - 2] ^= 1;
  CHECK_FALSE(verify_rs256(xr::test::google_test_pkey(), p));
}

TEST_CASE("a key that is not RSA cannot sign, and the message holds no key material") {
  auto sa = account();
  EVP_PKEY* ec = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  REQUIRE(ec != nullptr);
  const std::string pem = xr::test::pem_of(ec);
  EVP_PKEY_free(ec);
  sa.private_key = conf::Secret(pem);
  try {
    make_google_assertion(sa, "scan@acme.com", "https://mail.google.com/", std::chrono::system_clock::now());
    FAIL("no exception");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("not an RSA key") != std::string::npos);
    CHECK(std::string(e.what()).find("PRIVATE") == std::string::npos);
  }
}

TEST_CASE("a Google key's token request: JWT bearer grant to the key file's token_uri") {
  auto t = google_tenant();
  t.service_account->token_uri = "https://127.0.0.1:9443/token";
  t.ca_file = "/etc/xoauth2-relay/ca.pem";
  HttpRequest req;
  TokenError err;
  REQUIRE(build_token_request(TokenTarget{t, "scan@acme.com"}, Clock::now(), req, err));
  CHECK(req.url == "https://127.0.0.1:9443/token");
  CHECK(req.ca_file == t.ca_file);
  CHECK(form_value(req.form_body, "grant_type") == "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer");
  auto p = split(form_value(req.form_body, "assertion"));
  CHECK(p.claims.at("sub").as_string() == "scan@acme.com");
  CHECK(p.claims.at("aud").as_string() == "https://127.0.0.1:9443/token");
  // Nothing of Microsoft's grant.
  CHECK(req.form_body.find("client_secret") == std::string::npos);
  CHECK(req.form_body.find("client_credentials") == std::string::npos);
}

TEST_CASE("a Google key whose private key is broken is an explained, permanent error") {
  auto t = google_tenant();
  t.service_account->private_key = conf::Secret("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  HttpRequest req;
  TokenError err;
  CHECK_FALSE(build_token_request(TokenTarget{t, "scan@acme.com"}, Clock::now(), req, err));
  CHECK(err.summary.find("cannot sign the service account assertion") != std::string::npos);
  CHECK(err.fix.find("service_account_file") != std::string::npos);
  CHECK_FALSE(err.transient);
}
