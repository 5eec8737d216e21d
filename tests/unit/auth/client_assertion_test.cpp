#include "auth/client_assertion.hpp"

#include "protocols/base64.hpp"
#include "test_pki.hpp"

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

bool verify_ps256(EVP_PKEY* key, const Parts& p) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), nullptr, key);
  EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
  EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
  int ok = EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(p.signature.data()), p.signature.size(),
                            reinterpret_cast<const unsigned char*>(p.signing_input.data()), p.signing_input.size());
  EVP_MD_CTX_free(ctx);
  return ok == 1;
}

std::string str(const boost::json::value& v) { return std::string(v.as_string()); }

const std::string kAud = "https://login.microsoftonline.com/tid/oauth2/v2.0/token";
const std::string kClient = "8a1b2c3d-0000-4000-8000-000000000002";

}  // namespace

TEST_CASE("a PS256 assertion with x5t#S256 and the claims Entra ID checks") {
  xr::auth::test::TempDir dir;
  EVP_PKEY* key = xr::auth::test::make_key("RSA");
  xr::auth::test::write_key(key, dir.abs("app.key"));
  xr::auth::test::write_self_signed(key, dir.abs("app.crt"));
  auto now = std::chrono::system_clock::now();
  auto t = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();

  auto jwt = make_client_assertion({dir.abs("app.crt"), dir.abs("app.key")}, kClient, kAud, now);
  Parts p = split(jwt.reveal());
  CHECK(str(p.header.at("alg")) == "PS256");
  CHECK(str(p.header.at("typ")) == "JWT");
  CHECK(str(p.header.at("x5t#S256")) == certificate_thumbprint_s256(dir.abs("app.crt")));
  CHECK(str(p.claims.at("aud")) == kAud);
  CHECK(str(p.claims.at("iss")) == kClient);
  CHECK(str(p.claims.at("sub")) == kClient);
  CHECK(p.claims.at("nbf").as_int64() == t);
  CHECK(p.claims.at("exp").as_int64() == t + 600);
  CHECK(p.claims.at("jti").as_string().size() == 36);
  CHECK(verify_ps256(key, p));

  // A fresh jti every time: Entra ID rejects replayed assertions.
  auto again = split(make_client_assertion({dir.abs("app.crt"), dir.abs("app.key")}, kClient, kAud, now).reveal());
  CHECK(str(again.claims.at("jti")) != str(p.claims.at("jti")));
  EVP_PKEY_free(key);
}

TEST_CASE("the thumbprint is base64url of SHA-256 over the DER certificate") {
  xr::auth::test::TempDir dir;
  EVP_PKEY* key = xr::auth::test::make_key("RSA");
  xr::auth::test::write_self_signed(key, dir.abs("app.crt"));
  auto tp = certificate_thumbprint_s256(dir.abs("app.crt"));
  CHECK(tp.size() == 43);  // 32 bytes, unpadded
  CHECK(tp.find_first_of("+/=") == std::string::npos);
  EVP_PKEY_free(key);
}

TEST_CASE("unusable credential files are refused with the path named") {
  xr::auth::test::TempDir dir;
  EVP_PKEY* rsa = xr::auth::test::make_key("RSA");
  EVP_PKEY* other = xr::auth::test::make_key("RSA");
  EVP_PKEY* ec = xr::auth::test::make_key("EC");
  xr::auth::test::write_key(rsa, dir.abs("app.key"));
  xr::auth::test::write_self_signed(rsa, dir.abs("app.crt"));
  xr::auth::test::write_key(other, dir.abs("other.key"));
  xr::auth::test::write_key(ec, dir.abs("ec.key"));
  xr::auth::test::write_self_signed(ec, dir.abs("ec.crt"));
  auto now = std::chrono::system_clock::now();
  auto message = [&](const std::string& crt, const std::string& key) {
    try {
      make_client_assertion({dir.abs(crt), dir.abs(key)}, kClient, kAud, now);
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(message("missing.crt", "app.key").find("missing.crt") != std::string::npos);
  CHECK(message("app.key", "app.key").find("no PEM certificate") != std::string::npos);
  CHECK(message("app.crt", "app.crt").find("no unencrypted PEM private key") != std::string::npos);
  CHECK(message("app.crt", "other.key").find("does not belong") != std::string::npos);
  CHECK(message("ec.crt", "ec.key").find("not an RSA key") != std::string::npos);
  EVP_PKEY_free(rsa);
  EVP_PKEY_free(other);
  EVP_PKEY_free(ec);
}
