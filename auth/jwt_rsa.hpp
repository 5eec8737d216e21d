// Signing a JWT with an RSA key: shared by the Entra ID client assertion
// (PS256, auth/client_assertion) and Google's service account assertion
// (RS256, auth/google_assertion). OpenSSL only.
#pragma once

#include "conf/openssl_ptr.hpp"
#include "conf/secret.hpp"

#include <string>

namespace xr::auth {

enum class RsaJwtAlg {
  rs256,  // RSASSA-PKCS1-v1_5 with SHA-256 (Google)
  ps256,  // RSASSA-PSS with SHA-256, salt = digest length (Entra ID)
};

// base64url(header) "." base64url(claims) "." base64url(signature).
// Throws std::runtime_error when OpenSSL cannot sign (never key material).
conf::Secret sign_rsa_jwt(EVP_PKEY* key, RsaJwtAlg alg, const std::string& header_json,
                          const std::string& claims_json);

// An unencrypted RSA private key from PEM text (PKCS#8 or PKCS#1). Throws
// std::runtime_error naming `what` (e.g. the file) and the reason; the
// message never holds key material.
ossl::PkeyPtr rsa_key_from_pem(const std::string& pem, const std::string& what);

}  // namespace xr::auth
