// Awaiting a token from auth::TokenProvider inside a session coroutine. The
// provider answers on its own thread; the answer is posted back to the
// session's executor. The wait is cancellable (timeouts), and a late answer
// after cancellation is dropped.
#pragma once

#include "auth/token_provider.hpp"
#include "relay/asio.hpp"

#include <chrono>
#include <string>

namespace xr::relay {

// Waits at most `timeout`; on timeout the result has ok=false and a summary
// saying so.
net::awaitable<auth::TokenResult> wait_for_token(auth::TokenProvider& provider, const std::string& tenant,
                                                 std::chrono::steady_clock::duration timeout);

}  // namespace xr::relay
