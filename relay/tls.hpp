// TLS contexts: one per listener (its certificate), one per upstream CA set.
// Both release OpenSSL's read/write buffers while idle, which is most of a
// long session's memory.
#pragma once

#include "conf/config.hpp"
#include "relay/asio.hpp"

#include <memory>
#include <optional>
#include <string>

namespace xr::relay {

// Listener side: certificate chain + key; `min_version` or newer (TLS 1.2 by
// default; older versions also get OpenSSL security level 0, for this context
// only). Throws std::runtime_error naming the file when the files are unusable.
std::shared_ptr<ssl::context> make_server_tls(const std::string& cert_file, const std::string& key_file,
                                              conf::TlsVersion min_version = conf::TlsVersion::v1_2);

// What to tell ops about a device's failed handshake, from OpenSSL's error
// text: old devices that only speak TLS 1.0/1.1 are the usual case.
std::string tls_handshake_hint(std::string_view error, const conf::Listener& listener);

// Upstream side: TLS 1.2+, peer verification against the system CAs plus
// `ca_file` when given. Host name checks are set per connection.
std::shared_ptr<ssl::context> make_client_tls(const std::optional<std::string>& ca_file);

// A context for plain connections that may never use TLS (ssl::stream needs
// one to exist).
std::shared_ptr<ssl::context> make_plain_placeholder_tls();

}  // namespace xr::relay
