#include "relay/session/login_flight.hpp"

#include <memory>
#include <utility>

namespace xr::relay {

net::awaitable<bool> join_login_flight(auth::LoginCache& cache, const auth::LoginCache::Key& key) {
  // The join happens inside the initiation, so there is no moment at which
  // the leader could finish between our join() and our starting to wait.
  auto initiation = [&cache, key](auto handler) {
    using Handler = decltype(handler);
    auto h = std::make_shared<Handler>(std::move(handler));
    // Resumes the coroutine on its own executor, never on the thread that
    // calls finish() (the leader's).
    auto resume = [h](bool lead) {
      auto ex = net::get_associated_executor(*h);
      net::post(ex, [h, lead]() mutable { std::move (*h)(lead); });
    };
    if (cache.join(key, [resume] { resume(false); })) resume(true);
  };
  const bool lead = co_await net::async_initiate<decltype(net::use_awaitable), void(bool)>(initiation,
                                                                                        net::use_awaitable);
  co_return lead;
}

}  // namespace xr::relay
