// TLS hardening: no renegotiation, no weak suites even on a legacy (security
// level 0) listener, and upstream resumption that a reload cannot confuse.
#include "relay/tls.hpp"
#include "relay/tls_resumption.hpp"
#include "tests/unit/auth/test_pki.hpp"

#include <doctest/doctest.h>

#include <openssl/ssl.h>

#include <string>
#include <vector>

using namespace xr::relay;

namespace {

using Pki = xr::auth::test::ListenerPki;

std::vector<std::string> tls12_cipher_names(SSL_CTX* ctx) {
  std::vector<std::string> out;
  STACK_OF(SSL_CIPHER)* list = SSL_CTX_get_ciphers(ctx);
  for (int i = 0; i < sk_SSL_CIPHER_num(list); ++i) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(list, i);
    if (std::string(SSL_CIPHER_get_version(c)) != "TLSv1.3") out.push_back(SSL_CIPHER_get_name(c));
  }
  return out;
}

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// A full handshake over a memory BIO pair; the client then reads once so a
// TLS 1.3 ticket reaches its new-session callback. Returns whether the
// client resumed.
bool handshake(SSL_CTX* server_ctx, SSL_CTX* client_ctx, const std::string& host) {
  SSL* s = SSL_new(server_ctx);
  SSL* c = SSL_new(client_ctx);
  SSL_set_verify(c, SSL_VERIFY_NONE, nullptr);  // the test certificate is self-signed
  BIO *sb = nullptr, *cb = nullptr;
  REQUIRE(BIO_new_bio_pair(&sb, 0, &cb, 0) == 1);
  SSL_set_bio(s, sb, sb);
  SSL_set_bio(c, cb, cb);
  SSL_set_accept_state(s);
  SSL_set_connect_state(c);
  prepare_client_resumption(c, host);
  bool cdone = false, sdone = false;
  for (int i = 0; i < 100 && !(cdone && sdone); ++i) {
    if (!cdone) cdone = SSL_do_handshake(c) == 1;
    if (!sdone) sdone = SSL_do_handshake(s) == 1;
  }
  REQUIRE(cdone);
  REQUIRE(sdone);
  char buf[16];
  SSL_write(s, "x", 1);
  SSL_read(c, buf, sizeof buf);  // processes the ticket first
  bool resumed = SSL_session_reused(c) == 1;
  SSL_shutdown(c);
  SSL_free(c);
  SSL_free(s);
  return resumed;
}

}  // namespace

TEST_CASE("renegotiation is off on listener and upstream contexts") {
  Pki pki;
  auto server = make_server_tls(pki.cert, pki.key);
  auto legacy = make_server_tls(pki.cert, pki.key, xr::conf::TlsVersion::v1_0);
  auto client = make_client_tls(std::nullopt);
  for (SSL_CTX* ctx : {server->native_handle(), legacy->native_handle(), client->native_handle()}) {
    CHECK((SSL_CTX_get_options(ctx) & SSL_OP_NO_RENEGOTIATION) != 0);
    CHECK((SSL_CTX_get_options(ctx) & SSL_OP_ALLOW_CLIENT_RENEGOTIATION) == 0);
  }
}

TEST_CASE("a legacy listener (TLS 1.0, security level 0) offers AES-CBC-SHA but no 3DES, RC4, NULL or export") {
  Pki pki;
  auto legacy = make_server_tls(pki.cert, pki.key, xr::conf::TlsVersion::v1_0);
  CHECK(SSL_CTX_get_security_level(legacy->native_handle()) == 0);
  auto names = tls12_cipher_names(legacy->native_handle());
  REQUIRE_FALSE(names.empty());
  bool aes128_sha = false, ecdhe_cbc = false;
  for (const auto& n : names) {
    INFO(n);
    CHECK_FALSE(contains(n, "DES"));
    CHECK_FALSE(contains(n, "RC4"));
    CHECK_FALSE(contains(n, "NULL"));
    CHECK_FALSE(contains(n, "EXP"));
    CHECK_FALSE(contains(n, "MD5"));
    CHECK_FALSE(contains(n, "ADH"));
    CHECK_FALSE(contains(n, "AECDH"));
    CHECK_FALSE(contains(n, "PSK"));
    CHECK_FALSE(contains(n, "CAMELLIA"));
    aes128_sha = aes128_sha || n == "AES128-SHA";
    ecdhe_cbc = ecdhe_cbc || n == "ECDHE-ECDSA-AES128-SHA";
  }
  CHECK(aes128_sha);  // what TLS 1.0 devices commonly have
  CHECK(ecdhe_cbc);
  // AEAD suites are preferred over CBC.
  CHECK(contains(names.front(), "GCM"));
}

TEST_CASE("the default listener gets the same suite list") {
  Pki pki;
  auto server = make_server_tls(pki.cert, pki.key);
  auto legacy = make_server_tls(pki.cert, pki.key, xr::conf::TlsVersion::v1_0);
  CHECK(tls12_cipher_names(server->native_handle()) == tls12_cipher_names(legacy->native_handle()));
}

TEST_CASE("upstream resumption: each client context has its own number, never reused") {
  auto a = make_client_tls(std::nullopt);
  auto b = make_client_tls(std::nullopt);
  auto id_a = resumption_context_id(a->native_handle());
  CHECK(id_a != 0);
  CHECK(resumption_context_id(b->native_handle()) != 0);
  CHECK(resumption_context_id(b->native_handle()) != id_a);
  a.reset();
  // Whatever address the allocator hands out now, the number is new.
  for (int i = 0; i < 8; ++i) {
    auto c = make_client_tls(std::nullopt);
    CHECK(resumption_context_id(c->native_handle()) > id_a);
  }
}

TEST_CASE("upstream resumption: resumed within a context, never across a reload's new context, dropped with it") {
  Pki pki;
  auto server = make_server_tls(pki.cert, pki.key);
  std::size_t before = remembered_sessions();
  auto old_ctx = make_client_tls(std::nullopt);
  CHECK_FALSE(handshake(server->native_handle(), old_ctx->native_handle(), "smtp.test:587"));
  CHECK(remembered_sessions() == before + 1);
  CHECK(handshake(server->native_handle(), old_ctx->native_handle(), "smtp.test:587"));
  // The reload: the old context goes, a new one comes (maybe at the same
  // address); it starts without a session and the old one is forgotten.
  old_ctx.reset();
  CHECK(remembered_sessions() == before);
  auto new_ctx = make_client_tls(std::nullopt);
  CHECK_FALSE(handshake(server->native_handle(), new_ctx->native_handle(), "smtp.test:587"));
}

TEST_CASE("a legacy listener's 'no shared cipher' is explained as refused weak suites") {
  xr::conf::Listener legacy;
  legacy.tls = xr::conf::TlsMode::implicit;
  legacy.min_tls_version = xr::conf::TlsVersion::v1_0;
  auto hint = tls_handshake_hint("error: no shared cipher", legacy);
  CHECK(hint.find("3DES") != std::string::npos);
  CHECK(hint.find("AES_128_CBC_SHA") != std::string::npos);
  xr::conf::Listener modern = legacy;
  modern.min_tls_version = xr::conf::TlsVersion::v1_2;
  CHECK(tls_handshake_hint("error: no shared cipher", modern).find("min_tls_version") != std::string::npos);
}
