#include "relay/tls.hpp"

#include "relay/tls_resumption.hpp"

#include <openssl/ssl.h>

#include <stdexcept>

namespace xr::relay {
namespace {

void common_settings(ssl::context& ctx) {
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx.native_handle(), SSL_MODE_RELEASE_BUFFERS);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                  ssl::context::single_dh_use);
}

int openssl_version(conf::TlsVersion v) {
  switch (v) {
    case conf::TlsVersion::v1_0: return TLS1_VERSION;
    case conf::TlsVersion::v1_1: return TLS1_1_VERSION;
    case conf::TlsVersion::v1_2: return TLS1_2_VERSION;
    case conf::TlsVersion::v1_3: return TLS1_3_VERSION;
  }
  return TLS1_2_VERSION;
}

}  // namespace

std::shared_ptr<ssl::context> make_server_tls(const std::string& cert_file, const std::string& key_file,
                                              conf::TlsVersion min_version) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  common_settings(*ctx);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), openssl_version(min_version));
  if (min_version < conf::TlsVersion::v1_2) {
    // TLS 1.0/1.1 handshakes sign with MD5+SHA-1, which every security level
    // above 0 refuses; the legacy CBC suites come back with it too.
    SSL_CTX_set_security_level(ctx->native_handle(), 0);
  }
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cert_file, ec);
  if (ec) throw std::runtime_error("cannot load certificate " + cert_file + ": " + ec.message());
  ctx->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) throw std::runtime_error("cannot load private key " + key_file + ": " + ec.message());
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
    throw std::runtime_error("private key " + key_file + " does not match certificate " + cert_file);
  // Sessions are short and many devices reconnect per message: resumption
  // saves a full handshake each time.
  SSL_CTX_set_session_cache_mode(ctx->native_handle(), SSL_SESS_CACHE_SERVER);
  return ctx;
}

std::shared_ptr<ssl::context> make_client_tls(const std::optional<std::string>& ca_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  common_settings(*ctx);
  ctx->set_default_verify_paths();
  if (ca_file) {
    boost::system::error_code ec;
    ctx->load_verify_file(*ca_file, ec);
    if (ec) throw std::runtime_error("cannot load CA file " + *ca_file + ": " + ec.message());
  }
  ctx->set_verify_mode(ssl::verify_peer);
  enable_client_resumption(ctx->native_handle());
  return ctx;
}

std::string tls_handshake_hint(std::string_view error, const conf::Listener& listener) {
  const bool old_version = error.find("unsupported protocol") != std::string_view::npos ||
                           error.find("version too low") != std::string_view::npos ||
                           error.find("no shared cipher") != std::string_view::npos;
  if (old_version && listener.min_tls_version >= conf::TlsVersion::v1_2)
    return std::string("the device offered an older TLS version than this listener's minimum (") +
           conf::to_string(listener.min_tls_version) +
           "); if it cannot be updated, give it a listener with min_tls_version: \"1.0\"";
  if (listener.tls == conf::TlsMode::implicit)
    return std::string("the client must speak TLS ") + conf::to_string(listener.min_tls_version) +
           "+ on an implicit-TLS port";
  return "-";
}

std::shared_ptr<ssl::context> make_plain_placeholder_tls() {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  common_settings(*ctx);
  return ctx;
}

}  // namespace xr::relay
