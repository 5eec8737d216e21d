// Runs a blocking function (fsync, crypt(3), file I/O) on the blocking pool
// and resumes the calling coroutine on its own executor with the result; an
// exception thrown by the function is rethrown in the coroutine.
#pragma once

#include "relay/asio.hpp"

#include <type_traits>
#include <utility>

namespace xr::relay {

template <typename Fn>
net::awaitable<std::invoke_result_t<Fn&>> blocking_call(net::thread_pool& pool, Fn fn) {
  using R = std::invoke_result_t<Fn&>;
  co_return co_await net::co_spawn(
      pool, [&fn]() -> net::awaitable<R> { co_return fn(); }, net::use_awaitable);
}

}  // namespace xr::relay
