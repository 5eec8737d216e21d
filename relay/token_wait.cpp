#include "relay/token_wait.hpp"

#include <atomic>
#include <memory>
#include <optional>

namespace xr::relay {
namespace {

using namespace net::experimental::awaitable_operators;

// The provider's callback and a cancellation race to complete one handler.
template <typename Handler>
struct PendingToken {
  explicit PendingToken(Handler h) : handler(std::move(h)), work(net::make_work_guard(net::get_associated_executor(handler))) {}
  Handler handler;
  net::executor_work_guard<net::associated_executor_t<Handler>> work;
  std::atomic<bool> done{false};

  void complete(auth::TokenResult result, const std::shared_ptr<PendingToken>& self) {
    if (done.exchange(true)) return;
    auto ex = work.get_executor();
    net::post(ex, [self, result = std::move(result)]() mutable {
      auto h = std::move(self->handler);
      self->work.reset();
      // The slot must not outlive the operation it cancels.
      auto slot = net::get_associated_cancellation_slot(h);
      if (slot.is_connected()) slot.clear();
      std::move(h)(std::move(result));
    });
  }
};

template <typename CompletionToken>
auto async_get_token(auth::TokenProvider& provider, std::string tenant, CompletionToken&& token) {
  return net::async_initiate<CompletionToken, void(auth::TokenResult)>(
      [&provider](auto handler, std::string tenant) {
        using H = decltype(handler);
        auto slot = net::get_associated_cancellation_slot(handler);
        auto pending = std::make_shared<PendingToken<H>>(std::move(handler));
        if (slot.is_connected()) {
          slot.assign([weak = std::weak_ptr<PendingToken<H>>(pending)](net::cancellation_type) {
            if (auto p = weak.lock()) {
              auth::TokenResult r;
              r.error.summary = "token wait cancelled";
              r.error.transient = true;
              p->complete(std::move(r), p);
            }
          });
        }
        provider.get(tenant, [pending](const auth::TokenResult& r) { pending->complete(r, pending); });
      },
      token, std::move(tenant));
}

}  // namespace

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
