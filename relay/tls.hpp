// TLS contexts: one per listener (its certificate), one per upstream CA set.
// Both release OpenSSL's read/write buffers while idle, which is most of a
// long session's memory.
#pragma once

#include "relay/asio.hpp"

#include <memory>
#include <optional>
#include <string>

namespace xr::relay {

// Listener side: certificate chain + key; TLS 1.2 or newer. Throws
// std::runtime_error naming the file when the files are unusable.
std::shared_ptr<ssl::context> make_server_tls(const std::string& cert_file, const std::string& key_file);

// Upstream side: TLS 1.2+, peer verification against the system CAs plus
// `ca_file` when given. Host name checks are set per connection.
std::shared_ptr<ssl::context> make_client_tls(const std::optional<std::string>& ca_file);

// A context for plain connections that may never use TLS (ssl::stream needs
// one to exist).
std::shared_ptr<ssl::context> make_plain_placeholder_tls();

}  // namespace xr::relay
