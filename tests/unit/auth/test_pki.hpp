// Keys and self-signed certificates made on the fly for the assertion tests,
// written as PEM files into a temporary directory.
#pragma once

#include "tests/unit/temp_dir.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <openssl/x509.h>

#include <cstdio>
#include <stdexcept>
#include <string>


namespace xr::auth::test {

using xr::test::TempDir;

// "RSA" (2048 bits) or "EC" (P-256).
inline EVP_PKEY* make_key(const char* type) {
  EVP_PKEY* k = std::string(type) == "RSA" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048})
                                           : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (!k) throw std::runtime_error("keygen failed");
  return k;
}

inline void write_key(EVP_PKEY* key, const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "wb");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
}

// `san`: a subjectAltName value such as "IP:127.0.0.1", for certificates a
// verifying client must accept.
inline void write_self_signed(EVP_PKEY* key, const std::string& path, const char* san = nullptr) {
  X509* x = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("relay-app"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  if (san) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x, key, EVP_sha256());
  FILE* f = std::fopen(path.c_str(), "wb");
  PEM_write_X509(f, x);
  std::fclose(f);
  X509_free(x);
}

// A listener's EC key and self-signed certificate in a temporary folder.
struct ListenerPki {
  TempDir dir;
  std::string cert, key;
  explicit ListenerPki(const char* san = nullptr) {
    EVP_PKEY* k = make_key("EC");
    key = dir.abs("relay.key");
    cert = dir.abs("relay.crt");
    write_key(k, key);
    write_self_signed(k, cert, san);
    EVP_PKEY_free(k);
  }
};

}  // namespace xr::auth::test
