#include "conf/pem_check.hpp"

#include "conf/files.hpp"
#include "conf/openssl_ptr.hpp"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <ctime>
#include <memory>

namespace xr::conf {
namespace {

using Field = PemFinding::Field;

using ossl::BioPtr;
using ossl::PkeyPtr;
using ossl::X509Ptr;

// A file's bytes; the key file's are wiped when done.
struct FileText {
  std::string text;
  std::optional<std::string> error;
  ~FileText() { OPENSSL_cleanse(text.data(), text.size()); }
};

void read_into(const std::string& path, FileText& out) {
  out.error = read_text_file(path, out.text, 1u << 20);
}

// What a PEM file holds, by its "-----BEGIN <label>-----" lines.
struct PemKinds {
  bool certificate = false;
  bool private_key = false;  // any unencrypted key label
  bool encrypted_key = false;
  bool csr = false;
  bool any_pem = false;
};

PemKinds classify(const std::string& text) {
  PemKinds k;
  static constexpr std::string_view kBegin = "-----BEGIN ";
  for (std::size_t at = text.find(kBegin); at != std::string::npos; at = text.find(kBegin, at + 1)) {
    std::size_t start = at + kBegin.size();
    std::size_t end = text.find("-----", start);
    if (end == std::string::npos) break;
    std::string_view label(text.data() + start, end - start);
    k.any_pem = true;
    if (label == "CERTIFICATE" || label == "TRUSTED CERTIFICATE" || label == "X509 CERTIFICATE")
      k.certificate = true;
    else if (label == "ENCRYPTED PRIVATE KEY")
      k.encrypted_key = true;
    else if (label.size() >= 11 && label.substr(label.size() - 11) == "PRIVATE KEY")
      k.private_key = true;
    else if (label == "CERTIFICATE REQUEST" || label == "NEW CERTIFICATE REQUEST")
      k.csr = true;
  }
  // Traditional (PKCS#1) encryption keeps the RSA/EC label and adds a header.
  if (k.private_key && text.find("Proc-Type: 4,ENCRYPTED") != std::string::npos) {
    k.private_key = false;
    k.encrypted_key = true;
  }
  return k;
}

// OpenSSL's reason for the last failure, and the error queue emptied so the
// caller's next OpenSSL call does not see it.
std::string openssl_reason() {
  unsigned long e = ERR_peek_last_error();
  const char* r = e ? ERR_reason_error_string(e) : nullptr;
  ERR_clear_error();
  return r ? r : "unknown reason";
}

BIO* mem_bio(const std::string& text) { return BIO_new_mem_buf(text.data(), static_cast<int>(text.size())); }

std::string day(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return "an unreadable date";
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

const char* key_type(const EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_EC: return "an EC";
    case EVP_PKEY_ED25519: return "an Ed25519";
    case EVP_PKEY_ED448: return "an Ed448";
    case EVP_PKEY_DSA: return "a DSA";
    default: return "a non-RSA";
  }
}

struct Checker {
  const std::string& cert_file;
  const std::string& key_file;
  PemUse use;
  std::vector<PemFinding> out;

  void error(Field f, std::string m) { out.push_back({f, true, std::move(m)}); }
  void warn(Field f, std::string m) { out.push_back({f, false, std::move(m)}); }

  // The leaf (first) certificate; the rest of a chain must parse too, as
  // SSL_CTX_use_certificate_chain_file demands.
  X509Ptr read_chain(const std::string& text) {
    BioPtr bio(mem_bio(text));
    X509Ptr leaf(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!leaf) {
      error(Field::cert_file, "`" + cert_file + "`: the certificate cannot be read (" + openssl_reason() +
                                  "); check it with: openssl x509 -in " + cert_file + " -noout -text");
      return nullptr;
    }
    for (int n = 2;; ++n) {
      X509Ptr next(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
      if (next) continue;
      unsigned long e = ERR_peek_last_error();
      if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
        ERR_clear_error();  // the end of the chain
        break;
      }
      error(Field::cert_file, "`" + cert_file + "`: certificate " + std::to_string(n) + " of the chain cannot be read (" +
                                  openssl_reason() + "); put the server certificate first, then its intermediates, "
                                  "each as a complete -----BEGIN CERTIFICATE----- block");
      return nullptr;
    }
    return leaf;
  }

  PkeyPtr read_key(const std::string& text) {
    BioPtr bio(mem_bio(text));
    // A passphrase prompt would hang a daemon: no callback, so it fails.
    auto no_pass = [](char*, int, int, void*) { return 0; };
    PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_pass, nullptr));
    if (!key)
      error(Field::key_file, "`" + key_file + "`: the private key cannot be read (" + openssl_reason() +
                                 "); check it with: openssl pkey -in " + key_file + " -noout");
    return key;
  }

  void check_dates(X509* cert, std::chrono::system_clock::time_point now) {
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::time_t at = t;
    const std::string renew =
        use == PemUse::listener
            ? "devices refuse it: install a renewed certificate at " + cert_file + ", then reload"
            : "Entra ID refuses assertions signed for it: upload a renewed certificate to the app registration, "
              "install it at " + cert_file + " with its key, then reload";
    if (X509_cmp_time(X509_get0_notAfter(cert), &at) < 0)
      warn(Field::cert_file, "the certificate in `" + cert_file + "` expired on " + day(X509_get0_notAfter(cert)) +
                                 "; " + renew);
    // Five minutes' grace: a certificate made just now on a machine whose
    // clock runs a little ahead is not worth a warning.
    std::time_t soon = t + 300;
    if (X509_cmp_time(X509_get0_notAfter(cert), &at) >= 0 && X509_cmp_time(X509_get0_notBefore(cert), &soon) > 0)
      warn(Field::cert_file, "the certificate in `" + cert_file + "` is not valid before " +
                                 day(X509_get0_notBefore(cert)) + "; check the system clock");
    ERR_clear_error();
  }

  void run(std::chrono::system_clock::time_point now) {
    FileText cert_text, key_text;
    read_into(cert_file, cert_text);
    read_into(key_file, key_text);
    if (cert_text.error) error(Field::cert_file, *cert_text.error);
    if (key_text.error) error(Field::key_file, *key_text.error);
    if (cert_text.error || key_text.error) return;
    const PemKinds ck = classify(cert_text.text), kk = classify(key_text.text);

    bool cert_ok = ck.certificate, key_ok = kk.private_key;
    if (!ck.certificate && (ck.private_key || ck.encrypted_key) && kk.certificate && !kk.private_key) {
      error(Field::cert_file, "cert_file and key_file are swapped: `" + cert_file + "` holds a private key and `" +
                                  key_file + "` a certificate; write cert_file: " + key_file + " and key_file: " +
                                  cert_file);
      out.back().swapped = true;
      return;
    }
    if (!ck.certificate) {
      std::string what = ck.private_key || ck.encrypted_key ? "holds a private key, not a certificate"
                         : ck.csr ? "holds a certificate signing request (CSR), not a certificate; the signed "
                                    "certificate comes back from the CA"
                         : ck.any_pem ? "holds no certificate (no -----BEGIN CERTIFICATE----- block)"
                                      : "is not a PEM file (no -----BEGIN CERTIFICATE----- line); if it is DER "
                                        "(binary), convert it: openssl x509 -inform der -in " + cert_file +
                                            " -out cert.pem";
      error(Field::cert_file, "`" + cert_file + "` " + what + "; cert_file takes the certificate (PEM, the server "
                              "certificate first, then its intermediates), key_file its private key");
    }
    if (kk.encrypted_key) {
      error(Field::key_file, "`" + key_file + "` is encrypted with a passphrase, which the relay cannot type; "
                             "decrypt it: openssl pkey -in " + key_file + " -out plain.key (keep it mode 0600), "
                             "then point key_file at it");
      key_ok = false;
    } else if (!kk.private_key) {
      std::string what = kk.certificate ? "holds a certificate, not a private key"
                         : kk.any_pem ? "holds no private key (no -----BEGIN PRIVATE KEY----- block)"
                                      : "is not a PEM file (no -----BEGIN PRIVATE KEY----- line)";
      error(Field::key_file, "`" + key_file + "` " + what + "; key_file takes the private key (PEM, unencrypted) "
                             "of the certificate in cert_file");
    }
    X509Ptr cert = cert_ok ? read_chain(cert_text.text) : nullptr;
    PkeyPtr key = key_ok ? read_key(key_text.text) : nullptr;
    if (key && use == PemUse::client_assertion && EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) {
      error(Field::key_file, "`" + key_file + "` is " + key_type(key.get()) + " key; Entra ID client assertions "
                             "need RSA: make an RSA certificate (e.g. openssl req -x509 -newkey rsa:2048 -nodes "
                             "-keyout app.key -out app.crt -days 730 -subj /CN=xoauth2-relay) and upload app.crt "
                             "to the app registration");
      key.reset();
    }
    if (cert && key && X509_check_private_key(cert.get(), key.get()) != 1) {
      ERR_clear_error();
      error(Field::key_file, "the private key in `" + key_file + "` does not belong to the certificate in `" +
                                 cert_file + "`; find the matching pair: openssl x509 -in " + cert_file +
                                 " -noout -pubkey and openssl pkey -in " + key_file + " -pubout print the same key");
    }
    if (cert) check_dates(cert.get(), now);
  }
};

}  // namespace

std::vector<PemFinding> check_cert_and_key(const std::string& cert_file, const std::string& key_file, PemUse use,
                                           std::chrono::system_clock::time_point now) {
  Checker c{cert_file, key_file, use, {}};
  c.run(now);
  ERR_clear_error();
  return std::move(c.out);
}

std::optional<std::string> first_pem_error(const std::vector<PemFinding>& findings) {
  for (const auto& f : findings)
    if (f.error) return f.message;
  return std::nullopt;
}

std::optional<std::string> rsa_private_key_problem(const std::string& pem) {
  const PemKinds kinds = classify(pem);
  if (kinds.encrypted_key) return std::string("the private key is encrypted; the relay needs it unencrypted");
  if (!kinds.private_key) return std::string("it holds no PEM private key (-----BEGIN PRIVATE KEY-----)");
  BioPtr bio(mem_bio(pem));
  auto no_pass = [](char*, int, int, void*) { return 0; };
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_pass, nullptr) : nullptr);
  if (!key) return "the private key cannot be read (" + openssl_reason() + ")";
  if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA)
    return std::string("the private key is ") + key_type(key.get()) + " key; Google service account keys are RSA";
  return std::nullopt;
}

}  // namespace xr::conf
