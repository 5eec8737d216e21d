#pragma once
// A Google service account JSON key made on the fly (one RSA key per test
// process: RSA generation is slow), for the conf and auth tests.

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <stdexcept>
#include <string>

namespace xr::test {

inline EVP_PKEY* google_test_pkey() {
  static EVP_PKEY* key = [] {
    EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
    if (!k) throw std::runtime_error("keygen failed");
    return k;
  }();
  return key;
}

inline std::string pem_of(EVP_PKEY* key) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(b);
  return out;
}

inline std::string google_test_key_pem() { return pem_of(google_test_pkey()); }

// The PEM with its line ends written as JSON's \n escapes.
inline std::string json_escaped(const std::string& pem) {
  std::string out;
  for (char c : pem) out += c == '\n' ? std::string("\\n") : std::string(1, c);
  return out;
}

inline const char* kGoogleClientEmail = "relay@acme-project.iam.gserviceaccount.com";
inline const char* kGoogleClientId = "112233445566778899001";
inline const char* kGoogleKeyId = "3f1c0d9e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e";

// A key file as Google's console writes it; `token_uri` empty: left out.
inline std::string google_key_json(const std::string& pem = google_test_key_pem(),
                                   const std::string& token_uri = "https://oauth2.googleapis.com/token") {
  std::string s = "{\n"
                  "  \"type\": \"service_account\",\n"
                  "  \"project_id\": \"acme-project\",\n"
                  "  \"private_key_id\": \"" + std::string(kGoogleKeyId) + "\",\n"
                  "  \"private_key\": \"" + json_escaped(pem) + "\",\n"
                  "  \"client_email\": \"" + kGoogleClientEmail + "\",\n"
                  "  \"client_id\": \"" + kGoogleClientId + "\",\n"
                  "  \"auth_uri\": \"https://accounts.google.com/o/oauth2/auth\",\n";
  if (!token_uri.empty()) s += "  \"token_uri\": \"" + token_uri + "\",\n";
  s += "  \"universe_domain\": \"googleapis.com\"\n}\n";
  return s;
}

}  // namespace xr::test
