#include "relay/splice.hpp"

#include <algorithm>
#include <exception>
#include <memory>

namespace xr::relay {

namespace {
// Large enough for full TLS records, small enough that 10,000 sessions
// moving data at once stay within a few hundred MiB.
constexpr std::size_t kChunk = 16 * 1024;
// A burst that fills the first chunk (a FETCH of a large message) goes on in
// larger ones: four records per write to the other side instead of one.
constexpr std::size_t kBulkChunk = 64 * 1024;
constexpr auto kWriteTimeout = std::chrono::minutes(2);
constexpr auto kAwait = net::as_tuple(net::use_awaitable);
}  // namespace

Splice::Splice(Connection& client, Connection& upstream, std::chrono::steady_clock::duration idle_timeout,
               std::chrono::steady_clock::duration half_close_linger)
    : client_(client),
      upstream_(upstream),
      idle_(idle_timeout),
      linger_(half_close_linger),
      last_activity_(std::chrono::steady_clock::now()) {}

std::chrono::steady_clock::duration Splice::remaining() const {
  return std::min(last_activity_ + idle_, linger_until_) - std::chrono::steady_clock::now();
}

void Splice::stop() {
  stopping_ = true;
  client_.interrupt();
  upstream_.interrupt();
}

net::awaitable<SpliceResult> Splice::run() {
  // Both pumps run until one ends the session; the other is then woken
  // (interrupt) and returns at once. Neither throws for I/O.
  //
  // The upstream's pump runs as a coroutine of its own, the client's in this
  // one, which waits for the other before it returns (the other refers to
  // this object). `pump() && pump()` did the same with a spawned coroutine
  // for each side and a frame of its own: about 1 KiB more for every idle
  // spliced session.
  const auto ex = co_await net::this_coro::executor;
  net::steady_timer other_done(ex, net::steady_timer::time_point::max());
  bool other_running = true;
  std::exception_ptr other_failed;
  net::co_spawn(ex, pump(upstream_, client_, false), [&](std::exception_ptr e) {
    other_failed = e;
    other_running = false;
    other_done.cancel();
  });
  std::exception_ptr failed;
  try {
    co_await pump(client_, upstream_, true);
  } catch (...) {
    failed = std::current_exception();
    stop();  // the other pump ends soon
  }
  if (other_running) co_await other_done.async_wait(kAwait);
  if (failed) std::rethrow_exception(failed);
  if (other_failed) std::rethrow_exception(other_failed);
  co_return result_;
}

net::awaitable<void> Splice::pump(Connection& from, Connection& to, bool from_client) {
  Connection& other = from_client ? upstream_ : client_;
  const char* side = from_client ? "client" : "upstream";
  auto finish = [&](std::string why) {
    if (!done_) {
      done_ = true;
      if (result_.ended_by.empty()) result_.ended_by = std::move(why);
      other.interrupt();  // wake the other pump's read
    }
  };
  bool half_close = false;  // this direction ended with a clean EOF; the other goes on
  // After a read or a wait: true when the pump must stop, false to go on;
  // `retry` is set when the pump should re-arm (timeout/interrupt).
  auto settle = [&](const IoResult& r, bool& retry) {
    retry = false;
    if (done_) return true;
    if (r.status == IoStatus::timeout || r.status == IoStatus::interrupted) {
      if (stopping_) {
        finish("shutdown");
        return true;
      }
      retry = true;  // the deadline moved (the other direction was active)
      return false;
    }
    if (r.status == IoStatus::eof && !half_closed_) {
      half_closed_ = half_close = true;
      result_.ended_by = std::string(side) + "_closed";
      linger_until_ = std::chrono::steady_clock::now() + linger_;
      other.interrupt();  // the other pump re-arms with the linger deadline
      return true;
    }
    if (!r.ok()) {
      finish(r.status == IoStatus::eof ? std::string(side) + "_closed" : std::string(side) + "_" + r.describe());
      return true;
    }
    return false;
  };
  bool retry = false;
  while (!done_) {
    auto left = remaining();
    if (left <= std::chrono::steady_clock::duration::zero()) {
      finish(half_closed_ ? "linger_expired" : "idle");
      break;
    }
    // Wait without a buffer: most spliced sessions are idle most of the
    // time (IMAP IDLE), and this keeps them at a few KiB each.
    auto ready = from.readable_now();
    if (!ready) {
      const auto waited = co_await from.readable_wait(left);
      ready = from.readable_result(waited);
    }
    if (settle(*ready, retry)) break;
    if (retry) continue;
    std::size_t size = kChunk;
    auto buf = std::make_unique_for_overwrite<char[]>(size);
    auto r = co_await from.read_some(net::buffer(buf.get(), size), left);
    // While the peer keeps sending (a FETCH, an APPEND) read on without a
    // wait; the buffer goes back when it stops.
    bool stop = false;
    for (;;) {
      if (settle(r, retry)) {
        stop = true;
        break;
      }
      if (retry) break;  // readable, but no application data yet (e.g. a TLS ticket)
      last_activity_ = std::chrono::steady_clock::now();
      auto w = co_await to.write_all(std::string_view(buf.get(), r.bytes), kWriteTimeout);
      if (!w.ok()) {
        finish(std::string(from_client ? "upstream" : "client") + "_write_" + w.describe());
        stop = true;
        break;
      }
      (from_client ? result_.client_to_upstream : result_.upstream_to_client) += r.bytes;
      last_activity_ = std::chrono::steady_clock::now();
      if (r.bytes == size && size < kBulkChunk) {
        size = kBulkChunk;
        buf = std::make_unique_for_overwrite<char[]>(size);
      }
      auto more = from.try_read_some(net::buffer(buf.get(), size));
      if (!more) break;
      r = *more;
    }
    if (stop) break;
  }
  if (half_close) co_await to.shutdown_send(kWriteTimeout);
}

}  // namespace xr::relay
