#include "relay/tls.hpp"

#include "conf/pem_check.hpp"
#include "relay/tls_resumption.hpp"

#include <openssl/ssl.h>

#include <stdexcept>

namespace xr::relay {
namespace {

void common_settings(ssl::context& ctx) {
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx.native_handle(), SSL_MODE_RELEASE_BUFFERS);
  // Read ahead: one read() takes whatever the socket holds, up to 64 KiB,
  // instead of one for each record's header and one for its body: half the
  // system calls or fewer on bulk transfers. The buffer exists only while it
  // holds bytes (RELEASE_BUFFERS), so idle connections do not pay for it.
  SSL_CTX_set_read_ahead(ctx.native_handle(), 1);
  SSL_CTX_set_default_read_buffer_len(ctx.native_handle(), 64 * 1024);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                  ssl::context::single_dh_use);
  // No renegotiation either way: nothing here needs it, and it is a DoS
  // lever (a client may ask for handshake after handshake) and the ground
  // of old injection attacks. TLS 1.3 has none anyway.
  // (OpenSSL 3 already refuses client-initiated renegotiation unless
  // SSL_OP_ALLOW_CLIENT_RENEGOTIATION; this also stops server-initiated.)
  SSL_CTX_set_options(ctx.native_handle(), SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_clear_options(ctx.native_handle(), SSL_OP_ALLOW_CLIENT_RENEGOTIATION);
}

// TLS 1.2 and older suites for device listeners (TLS 1.3 suites are fixed
// and all strong). Forward-secret AEAD first; then the AES-CBC-SHA suites,
// which TLS 1.0/1.1 devices need (SHA-1 HMAC is all those versions have).
// Never 3DES (Sweet32), RC4, DES, NULL, export, anonymous, MD5, or the
// CAMELLIA/ARIA/SEED/IDEA suites no device needs. Security level 0 on a
// legacy listener would otherwise let all of them back in.
constexpr const char* kServerCiphers =
    "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:AES128-GCM-SHA256:AES256-GCM-SHA384:ECDHE+AES+SHA:AES128-SHA:"
    "AES256-SHA:!aNULL:!eNULL:!EXP:!LOW:!3DES:!DES:!RC4:!MD5:!PSK:!SRP:!DSS:!CAMELLIA:!ARIA:!SEED:!IDEA";

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
  if (SSL_CTX_set_cipher_list(ctx->native_handle(), kServerCiphers) != 1)
    throw std::runtime_error("cannot set the TLS cipher list");
  // The same check check-config runs (conf/pem_check.hpp), so a refusal
  // here reads like its error: which file, what is wrong, the fix.
  if (auto why = conf::first_pem_error(
          conf::check_cert_and_key(cert_file, key_file, conf::PemUse::listener, std::chrono::system_clock::now())))
    throw std::runtime_error(*why);
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
  // A legacy listener still refuses 3DES, RC4, NULL and export suites: a
  // device offering nothing else cannot be served safely.
  if (error.find("no shared cipher") != std::string_view::npos && listener.min_tls_version < conf::TlsVersion::v1_2)
    return "the device offered only cipher suites the relay refuses (3DES, RC4, NULL, export); it needs AES "
           "(at least TLS_RSA_WITH_AES_128_CBC_SHA): update its firmware or put it on a TLS-less listener on a "
           "trusted network";
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
