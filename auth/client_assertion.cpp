#include "auth/client_assertion.hpp"

#include "auth/jwt_rsa.hpp"
#include "conf/openssl_ptr.hpp"
#include "protocols/base64.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <ctime>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstdio>
#include <memory>
#include <stdexcept>

namespace xr::auth {
namespace {

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<FILE, FileCloser>;

FilePtr open_file(const std::string& path, const char* what) {
  FilePtr f(std::fopen(path.c_str(), "rb"));
  if (!f) throw std::runtime_error(fmt::format("cannot read the {} file {}", what, path));
  return f;
}

ossl::X509Ptr read_certificate(const std::string& path) {
  auto f = open_file(path, "certificate");
  ossl::X509Ptr cert(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
  if (!cert) throw std::runtime_error(fmt::format("{} holds no PEM certificate", path));
  return cert;
}

ossl::PkeyPtr read_rsa_key(const std::string& path) {
  auto f = open_file(path, "private key");
  // A passphrase prompt would hang a daemon: an empty callback makes an
  // encrypted key fail instead.
  auto no_pass = [](char*, int, int, void*) { return 0; };
  ossl::PkeyPtr key(PEM_read_PrivateKey(f.get(), nullptr, no_pass, nullptr));
  if (!key) throw std::runtime_error(fmt::format("{} holds no unencrypted PEM private key", path));
  if (EVP_PKEY_base_id(key.get()) != EVP_PKEY_RSA)
    throw std::runtime_error(fmt::format("{} is not an RSA key (Entra ID client assertions need RSA)", path));
  return key;
}

std::string der_sha256(X509* cert) {
  unsigned char* der = nullptr;
  int len = i2d_X509(cert, &der);
  if (len <= 0) throw std::runtime_error("cannot encode the certificate");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int dlen = 0;
  int ok = EVP_Digest(der, static_cast<std::size_t>(len), digest, &dlen, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  if (ok != 1) throw std::runtime_error("cannot hash the certificate");
  return std::string(reinterpret_cast<char*>(digest), dlen);
}

std::string new_guid() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("no randomness for the assertion id");
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return fmt::format("{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
                     b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
                     b[14], b[15]);
}

}  // namespace

std::string certificate_thumbprint_s256(const std::string& cert_file) {
  auto cert = read_certificate(cert_file);
  return base64url_encode(der_sha256(cert.get()));
}

std::chrono::system_clock::time_point certificate_not_after(const std::string& cert_file) {
  auto cert = read_certificate(cert_file);
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &tm) != 1)
    throw std::runtime_error(fmt::format("{}: the certificate's notAfter date cannot be read", cert_file));
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

conf::Secret make_client_assertion(const conf::CertificateCredential& cred, const std::string& client_id,
                                   const std::string& audience, std::chrono::system_clock::time_point now) {
  auto cert = read_certificate(cred.cert_file);
  auto key = read_rsa_key(cred.key_file);
  if (X509_check_private_key(cert.get(), key.get()) != 1)
    throw std::runtime_error(
        fmt::format("the key in {} does not belong to the certificate in {}", cred.key_file, cred.cert_file));

  const auto t = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  boost::json::object header{{"alg", "PS256"}, {"typ", "JWT"}, {"x5t#S256", base64url_encode(der_sha256(cert.get()))}};
  boost::json::object claims{{"aud", audience}, {"iss", client_id}, {"sub", client_id}, {"jti", new_guid()},
                             {"nbf", t},        {"iat", t},         {"exp", t + 600}};
  return sign_rsa_jwt(key.get(), RsaJwtAlg::ps256, boost::json::serialize(header), boost::json::serialize(claims));
}

}  // namespace xr::auth
