// conf/pem_check: certificate and key files judged as OpenSSL will use them,
// with the fix in the message. Keys and certificates are made here.
#include "conf/pem_check.hpp"
#include "conf_test_support.hpp"
#include "tests/unit/auth/test_pki.hpp"

#include <chrono>
#include <fstream>
#include <sstream>

using namespace xr::conf;
using namespace xr::conf::test;
using xr::auth::test::make_key;
using xr::auth::test::write_key;
using xr::auth::test::write_self_signed;

namespace {

const auto kNow = std::chrono::system_clock::now();

// A certificate and its key under `name`.crt / `name`.key.
struct Pair {
  std::string cert, key;
  Pair(const TempDir& d, const std::string& name, const char* type = "EC") {
    EVP_PKEY* k = make_key(type);
    cert = d.abs(name + ".crt");
    key = d.abs(name + ".key");
    write_key(k, key);
    write_self_signed(k, cert);
    EVP_PKEY_free(k);
  }
};

std::string errors(const std::vector<PemFinding>& fs) {
  std::string out;
  for (const auto& f : fs) out += std::string(f.error ? "error " : "warning ") +
                                  (f.field == PemFinding::Field::cert_file ? "cert_file: " : "key_file: ") +
                                  f.message + "\n";
  return out;
}

}  // namespace

TEST_CASE("pem_check: a matching certificate and key pass") {
  TempDir d;
  Pair p(d, "relay");
  auto fs = check_cert_and_key(p.cert, p.key, PemUse::listener, kNow);
  INFO(errors(fs));
  CHECK(fs.empty());
  CHECK_FALSE(first_pem_error(fs));
}

TEST_CASE("pem_check: cert_file and key_file swapped is named as such, with the fix") {
  TempDir d;
  Pair p(d, "relay");
  auto fs = check_cert_and_key(p.key, p.cert, PemUse::listener, kNow);
  INFO(errors(fs));
  REQUIRE(fs.size() == 1);
  CHECK(fs[0].error);
  CHECK(fs[0].swapped);
  CHECK(fs[0].field == PemFinding::Field::cert_file);
  CHECK(fs[0].message == "cert_file and key_file are swapped: `" + p.key + "` holds a private key and `" + p.cert +
                             "` a certificate; write cert_file: " + p.cert + " and key_file: " + p.key);
}

TEST_CASE("pem_check: a key that does not belong to the certificate") {
  TempDir d;
  Pair a(d, "a"), b(d, "b");
  auto fs = check_cert_and_key(a.cert, b.key, PemUse::listener, kNow);
  INFO(errors(fs));
  REQUIRE(fs.size() == 1);
  CHECK(fs[0].field == PemFinding::Field::key_file);
  CHECK(contains(fs[0].message, "the private key in `" + b.key + "` does not belong to the certificate in `" + a.cert));
  CHECK(contains(fs[0].message, "-pubkey"));
}

TEST_CASE("pem_check: garbage, the wrong kind of file, and not PEM at all") {
  TempDir d;
  Pair p(d, "relay");
  SUBCASE("a certificate block that does not parse") {
    auto bad = d.write("bad.crt", "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n");
    auto fs = check_cert_and_key(bad, p.key, PemUse::listener, kNow);
    REQUIRE(fs.size() == 1);
    CHECK(fs[0].field == PemFinding::Field::cert_file);
    CHECK(contains(fs[0].message, "the certificate cannot be read"));
    CHECK(contains(fs[0].message, "openssl x509 -in " + bad));
  }
  SUBCASE("DER or text, no PEM at all") {
    auto der = d.write("der.crt", std::string("\x30\x82\x01\x0a", 4));
    auto fs = check_cert_and_key(der, p.key, PemUse::listener, kNow);
    REQUIRE(fs.size() == 1);
    CHECK(contains(fs[0].message, "is not a PEM file"));
    CHECK(contains(fs[0].message, "-inform der"));
  }
  SUBCASE("a key block that does not parse") {
    auto bad = d.write("bad.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    auto fs = check_cert_and_key(p.cert, bad, PemUse::listener, kNow);
    REQUIRE(fs.size() == 1);
    CHECK(fs[0].field == PemFinding::Field::key_file);
    CHECK(contains(fs[0].message, "the private key cannot be read"));
  }
  SUBCASE("the certificate as both files") {
    auto fs = check_cert_and_key(p.cert, p.cert, PemUse::listener, kNow);
    REQUIRE(fs.size() == 1);
    CHECK(fs[0].field == PemFinding::Field::key_file);
    CHECK(contains(fs[0].message, "holds a certificate, not a private key"));
  }
  SUBCASE("the key as both files") {
    auto fs = check_cert_and_key(p.key, p.key, PemUse::listener, kNow);
    REQUIRE(fs.size() == 1);
    CHECK(fs[0].field == PemFinding::Field::cert_file);
    CHECK(contains(fs[0].message, "holds a private key, not a certificate"));
  }
  SUBCASE("a missing file") {
    auto fs = check_cert_and_key(d.abs("nope.crt"), p.key, PemUse::listener, kNow);
    REQUIRE(fs.size() == 1);
    CHECK(contains(fs[0].message, "cannot open " + d.abs("nope.crt")));
  }
}

TEST_CASE("pem_check: an encrypted key is refused with the command that decrypts it") {
  TempDir d;
  Pair p(d, "relay");
  EVP_PKEY* k = make_key("EC");
  std::string enc = d.abs("enc.key");
  FILE* f = std::fopen(enc.c_str(), "wb");
  char pass[] = "passphrase";
  PEM_write_PrivateKey(f, k, EVP_aes_256_cbc(), nullptr, 0, nullptr, pass);
  std::fclose(f);
  EVP_PKEY_free(k);
  auto fs = check_cert_and_key(p.cert, enc, PemUse::listener, kNow);
  REQUIRE(fs.size() == 1);
  CHECK(contains(fs[0].message, "is encrypted with a passphrase"));
  CHECK(contains(fs[0].message, "openssl pkey -in " + enc));
}

TEST_CASE("pem_check: an expired certificate is a warning, not an error") {
  TempDir d;
  Pair p(d, "relay");  // valid for an hour
  auto later = kNow + std::chrono::hours(2);
  auto fs = check_cert_and_key(p.cert, p.key, PemUse::listener, later);
  INFO(errors(fs));
  REQUIRE(fs.size() == 1);
  CHECK_FALSE(fs[0].error);
  CHECK(fs[0].field == PemFinding::Field::cert_file);
  CHECK(contains(fs[0].message, "the certificate in `" + p.cert + "` expired on "));
  CHECK_FALSE(first_pem_error(fs));
  auto earlier = check_cert_and_key(p.cert, p.key, PemUse::listener, kNow - std::chrono::hours(2));
  REQUIRE(earlier.size() == 1);
  CHECK(contains(earlier[0].message, "is not valid before"));
}

TEST_CASE("pem_check: a client assertion needs an RSA key; a listener takes EC") {
  TempDir d;
  Pair ec(d, "ec");
  auto fs = check_cert_and_key(ec.cert, ec.key, PemUse::client_assertion, kNow);
  REQUIRE(fs.size() == 1);
  CHECK(contains(fs[0].message, "is an EC key; Entra ID client assertions need RSA"));
  Pair rsa(d, "rsa", "RSA");
  CHECK(check_cert_and_key(rsa.cert, rsa.key, PemUse::client_assertion, kNow).empty());
}

TEST_CASE("pem_check: a chain whose second certificate is broken is refused") {
  TempDir d;
  Pair p(d, "relay");
  std::ifstream in(p.cert);
  std::stringstream text;
  text << in.rdbuf();
  auto chain = d.write("chain.crt", text.str() + "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  auto fs = check_cert_and_key(chain, p.key, PemUse::listener, kNow);
  REQUIRE(fs.size() == 1);
  CHECK(contains(fs[0].message, "certificate 2 of the chain cannot be read"));
}
