// TLS session resumption towards Office 365. Every relayed SMTP session opens
// a new upstream TLS connection; resuming the last session to the same host
// skips certificate-chain parsing and verification, a large share of a short
// session's CPU. One remembered session per (client context, host).
#pragma once

#include <string>

struct ssl_ctx_st;
struct ssl_st;

namespace xr::relay {

// Makes `ctx` hand its new client sessions to the cache (call once per
// client context).
void enable_client_resumption(ssl_ctx_st* ctx);

// Before the handshake: offer the remembered session for `host` (if any) and
// remember new ones under it.
void prepare_client_resumption(ssl_st* ssl, const std::string& host);

}  // namespace xr::relay
