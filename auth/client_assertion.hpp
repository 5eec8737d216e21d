// The signed JWT an app presents instead of a client secret (certificate
// credential): PS256, with the certificate's SHA-256 thumbprint in x5t#S256 so
// Entra ID finds the matching uploaded certificate.
#pragma once

#include "conf/config.hpp"
#include "conf/secret.hpp"

#include <chrono>
#include <string>

namespace xr::auth {

// Reads the PEM certificate and RSA key (re-read on every call, so a renewed
// certificate at the same path is picked up without a reload) and signs an
// assertion for `audience` (the token URL), valid from `now` for 10 minutes.
// Throws std::runtime_error with an admin-readable message (paths, never key
// material) when the files are unreadable or not an RSA certificate and key.
conf::Secret make_client_assertion(const conf::CertificateCredential& cred, const std::string& client_id,
                                   const std::string& audience, std::chrono::system_clock::time_point now);

// The certificate's notAfter. Throws like make_client_assertion.
std::chrono::system_clock::time_point certificate_not_after(const std::string& cert_file);

// base64url(SHA-256(DER certificate)), the value of x5t#S256.
std::string certificate_thumbprint_s256(const std::string& cert_file);

}  // namespace xr::auth
