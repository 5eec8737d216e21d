// Certificate and private-key files checked the way OpenSSL will use them, so
// that `check-config` refuses what `run` would refuse (and says the fix), and
// `run` refuses with the same words: the loader and relay/tls.cpp both call
// this. No Asio; OpenSSL only.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace xr::conf {

// Who uses the pair: a device listener (any key type OpenSSL serves) or the
// tenant's client assertion (Entra ID needs RSA).
enum class PemUse { listener, client_assertion };

struct PemFinding {
  enum class Field { cert_file, key_file };
  Field field;         // which YAML key the finding belongs to
  bool error = true;   // false: a warning (the relay still starts)
  std::string message; // names the file(s) and the fix; never key material
  bool swapped = false; // cert_file holds the key and key_file the certificate
};

// Reads both files (PEM), and reports: a file that holds the other kind
// (cert_file and key_file swapped, or either one alone), unreadable or
// garbage PEM, an encrypted key, a non-RSA key for a client assertion, a key
// that does not belong to the certificate (errors); an expired or not yet
// valid certificate (warnings). Empty when all is well.
std::vector<PemFinding> check_cert_and_key(const std::string& cert_file, const std::string& key_file, PemUse use,
                                           std::chrono::system_clock::time_point now);

// An RSA private key given as PEM text (a Google service account's
// `private_key`): nullopt when it loads, unencrypted, as RSA; else why not
// (never key material).
std::optional<std::string> rsa_private_key_problem(const std::string& pem);

// The first error's message, or nullopt: for callers that refuse.
std::optional<std::string> first_pem_error(const std::vector<PemFinding>& findings);

}  // namespace xr::conf
