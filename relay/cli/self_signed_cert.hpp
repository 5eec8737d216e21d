// A listener certificate for `xoauth2-relay init`: a new P-256 key and a
// self-signed server certificate for it, as PEM. Printers on a LAN rarely
// verify the relay's certificate, but they do need STARTTLS to offer AUTH;
// this gets a first mail through without a CA. No Asio, no files.
#pragma once

#include "conf/secret.hpp"

#include <string>
#include <vector>

namespace xr::relay::cli {

struct SelfSigned {
  std::string cert_pem;
  conf::Secret key_pem;     // PKCS#8, unencrypted; never printed
  std::string fingerprint;  // SHA-256 of the DER certificate, "AB:CD:..."
  std::string not_after;    // "2036-12-04" (UTC)
};

// `common_name` goes into the subject; `dns_names` and `ip_addresses` into
// subjectAltName (what TLS clients compare). Valid from now for `days`.
// Throws std::runtime_error when OpenSSL fails.
SelfSigned make_self_signed(const std::string& common_name, const std::vector<std::string>& dns_names,
                            const std::vector<std::string>& ip_addresses, int days = 3650);

}  // namespace xr::relay::cli
