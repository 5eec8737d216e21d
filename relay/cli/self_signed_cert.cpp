#include "relay/cli/self_signed_cert.hpp"

#include "conf/openssl_ptr.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <ctime>
#include <memory>
#include <stdexcept>

namespace xr::relay::cli {
namespace {

using Key = ossl::PkeyPtr;
using Cert = ossl::X509Ptr;
using Ext = ossl::ExtPtr;
using Bio = ossl::BioPtr;
using Bn = ossl::BnPtr;

[[noreturn]] void fail(const char* what) {
  unsigned long e = ERR_get_error();
  char buf[256] = "";
  if (e) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  throw std::runtime_error(std::string("cannot make the listener certificate: ") + what + (e ? ": " : "") + buf);
}

void add_ext(X509* x, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  Ext ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || !X509_add_ext(x, ext.get(), -1)) fail("X509_add_ext");
}

std::string bio_text(BIO* b) {
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  return std::string(data, n > 0 ? std::size_t(n) : 0);
}

std::string fingerprint_of(X509* x) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!X509_digest(x, EVP_sha256(), md, &n)) fail("X509_digest");
  std::string out;
  char hex[4];
  for (unsigned i = 0; i < n; ++i) {
    std::snprintf(hex, sizeof hex, i ? ":%02X" : "%02X", md[i]);
    out += hex;
  }
  return out;
}

}  // namespace

SelfSigned make_self_signed(const std::string& common_name, const std::vector<std::string>& dns_names,
                            const std::vector<std::string>& ip_addresses, int days) {
  // P-256: small, fast, and every TLS 1.2 client of the last decade has it.
  Key key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) fail("EC key generation");
  Cert x(X509_new());
  if (!x) fail("X509_new");
  X509_set_version(x.get(), 2);  // v3, for the extensions
  // A random positive 63-bit serial: two certificates made by init never collide.
  unsigned char serial[8];
  if (RAND_bytes(serial, sizeof serial) != 1) fail("RAND_bytes");
  serial[0] &= 0x7f;
  Bn bn(BN_bin2bn(serial, sizeof serial, nullptr));
  if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(x.get()))) fail("serial number");
  // Backdated an hour: a device whose clock is a little behind still accepts it.
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_time_adj_ex(X509_getm_notAfter(x.get()), days, 0, nullptr);
  if (!X509_set_pubkey(x.get(), key.get())) fail("X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(x.get());
  std::string cn = common_name.substr(0, 64);  // the X.520 upper bound for CN
  if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1,
                                  -1, 0))
    fail("subject name");
  X509_set_issuer_name(x.get(), name);
  std::string san;
  for (const auto& d : dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + d;
  for (const auto& ip : ip_addresses) san += (san.empty() ? "IP:" : ",IP:") + ip;
  add_ext(x.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_ext(x.get(), NID_key_usage, "critical,digitalSignature");
  add_ext(x.get(), NID_ext_key_usage, "serverAuth");
  add_ext(x.get(), NID_subject_key_identifier, "hash");
  if (!san.empty()) add_ext(x.get(), NID_subject_alt_name, san);
  if (!X509_sign(x.get(), key.get(), EVP_sha256())) fail("X509_sign");

  SelfSigned out;
  Bio cert_bio(BIO_new(BIO_s_mem()));
  if (!cert_bio || !PEM_write_bio_X509(cert_bio.get(), x.get())) fail("PEM_write_bio_X509");
  out.cert_pem = bio_text(cert_bio.get());
  // The key's PEM lives in the Secret only; the memory BIO is cleared when
  // freed (BIO_s_mem frees its buffer; BIO_s_secmem clears it first).
  Bio key_bio(BIO_new(BIO_s_secmem()));
  if (!key_bio || !PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr))
    fail("PEM_write_bio_PrivateKey");
  out.key_pem = conf::Secret(bio_text(key_bio.get()));
  out.fingerprint = fingerprint_of(x.get());
  std::time_t t = std::time(nullptr) + std::time_t(days) * 86400;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char date[16];
  std::strftime(date, sizeof date, "%Y-%m-%d", &tm);
  out.not_after = date;
  return out;
}

}  // namespace xr::relay::cli
