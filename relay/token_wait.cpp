#include "relay/token_wait.hpp"

#include "relay/one_shot.hpp"

namespace xr::relay {
namespace {

using namespace net::experimental::awaitable_operators;

template <typename CompletionToken>
auto async_get_token(auth::TokenProvider& provider, std::string tenant, CompletionToken&& token) {
  return net::async_initiate<CompletionToken, void(auth::TokenResult)>(
      [&provider](auto handler, std::string tenant) {
        auto pending = std::make_shared<OneShot<decltype(handler), auth::TokenResult>>(std::move(handler));
        auth::TokenResult cancelled;
        cancelled.error.summary = "token wait cancelled";
        cancelled.error.transient = true;
        pending->on_cancel(std::move(cancelled));
        provider.get(tenant, [pending](const auth::TokenResult& r) { pending->complete(r); });
      },
      token, std::move(tenant));
}

}  // namespace

net::awaitable<auth::TokenResult> wait_for_token(auth::TokenProvider& provider, const conf::Tenant& tenant,
                                                 conf::Protocol protocol, const std::string& mailbox,
                                                 std::chrono::steady_clock::duration timeout) {
  const std::string key = auth::token_key(tenant, protocol, mailbox);
  co_return co_await wait_for_token(provider, key, timeout);
}

net::awaitable<auth::TokenResult> wait_for_token(auth::TokenProvider& provider, const std::string& tenant,
                                                 std::chrono::steady_clock::duration timeout) {
  net::steady_timer timer(co_await net::this_coro::executor, timeout);
  auto result = co_await (async_get_token(provider, tenant, net::use_awaitable) ||
                          timer.async_wait(net::as_tuple(net::use_awaitable)));
  if (result.index() == 0) co_return std::get<0>(std::move(result));
  auth::TokenResult r;
  r.error.summary = "no token within " +
                    std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) +
                    "s (token endpoint slow or unreachable)";
  r.error.transient = true;
  co_return r;
}

}  // namespace xr::relay
