// TLS session resumption towards Office 365. Every relayed SMTP session opens
// a new upstream TLS connection; resuming the last session to the same host
// skips certificate-chain parsing and verification, a large share of a short
// session's CPU. One remembered session per (client context, host:port).
//
// A context is named by a number given once and never reused, not by its
// address: after a reload frees a context (say, one whose ca_file changed),
// a new one may get the same address, and must not be offered a session
// that was verified under the old trust settings. A context's sessions are
// dropped when it is freed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

struct ssl_ctx_st;
struct ssl_st;

namespace xr::relay {

// Makes `ctx` hand its new client sessions to the cache and gives it its
// number (call once per client context).
void enable_client_resumption(ssl_ctx_st* ctx);

// Before the handshake: offer the remembered session for `host` (if any) and
// remember new ones under it.
void prepare_client_resumption(ssl_st* ssl, const std::string& host);

// The number enable_client_resumption gave `ctx` (0: none).
std::uint64_t resumption_context_id(const ssl_ctx_st* ctx);

// Sessions held for all contexts (for tests).
std::size_t remembered_sessions();

}  // namespace xr::relay
