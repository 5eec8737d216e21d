// Awaiting a token from auth::TokenProvider inside a session coroutine. The
// provider answers on its own thread; the answer is posted back to the
// session's executor. The wait is cancellable (timeouts), and a late answer
// after cancellation is dropped.
#pragma once

#include "auth/token_keys.hpp"
#include "auth/token_provider.hpp"
#include "relay/asio.hpp"

#include <chrono>
#include <string>

namespace xr::relay {

// Waits at most `timeout` for the token of `key` (auth/token_keys.hpp); on
// timeout the result has ok=false and a summary saying so.
net::awaitable<auth::TokenResult> wait_for_token(auth::TokenProvider& provider, const std::string& key,
                                                 std::chrono::steady_clock::duration timeout);

// The same for the token a session of `mailbox` needs for `protocol`
// (auth::token_key). The key is made in this coroutine's frame, not the
// caller's: GCC 12 mis-sizes some frames that gain a std::string local.
net::awaitable<auth::TokenResult> wait_for_token(auth::TokenProvider& provider, const conf::Tenant& tenant,
                                                 conf::Protocol protocol, const std::string& mailbox,
                                                 std::chrono::steady_clock::duration timeout);

}  // namespace xr::relay
