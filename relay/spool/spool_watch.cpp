#include "relay/spool/spool_watch.hpp"

#include "spool/queue_id.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace xr::relay {

struct SpoolWatch::State {
  net::posix::stream_descriptor fd;
  OnChange on_change;
  OnOverflow on_overflow;
  bool stopped = false;
  State(net::any_io_executor ex, int raw, OnChange c, OnOverflow o)
      : fd(ex, raw), on_change(std::move(c)), on_overflow(std::move(o)) {}
};

SpoolWatch::SpoolWatch(net::any_io_executor ex, const std::string& dir, OnChange on_change, OnOverflow on_overflow) {
  int raw = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (raw < 0) throw std::system_error(errno, std::generic_category(), "inotify_init1");
  // queue/: entries removed by `queue delete` (or another relay's mistake);
  // state/: holds, releases and flushes (rename into place).
  const auto q = dir + "/queue", s = dir + "/state";
  if (inotify_add_watch(raw, q.c_str(), IN_DELETE | IN_MOVED_FROM) < 0 ||
      inotify_add_watch(raw, s.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
    int e = errno;
    ::close(raw);
    throw std::system_error(e, std::generic_category(), "inotify_add_watch on " + dir);
  }
  state_ = std::make_shared<State>(ex, raw, std::move(on_change), std::move(on_overflow));
  net::co_spawn(ex, run(), net::detached);
}

SpoolWatch::~SpoolWatch() { stop(); }

void SpoolWatch::stop() {
  if (!state_ || state_->stopped) return;
  state_->stopped = true;
  boost::system::error_code ignored;
  state_->fd.close(ignored);
}

net::awaitable<void> SpoolWatch::run() {
  auto st = state_;  // outlives the watch object while this runs
  alignas(inotify_event) char buf[16 * 1024];
  while (!st->stopped) {
    auto [ec, n] = co_await st->fd.async_read_some(net::buffer(buf), net::as_tuple(net::use_awaitable));
    if (ec || st->stopped) co_return;
    for (std::size_t off = 0; off + sizeof(inotify_event) <= n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
      off += sizeof(inotify_event) + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) {
        st->on_overflow();
        continue;
      }
      if (ev->len == 0) continue;
      std::string name(ev->name);  // NUL-padded
      // Temporary names (".ID.tmp" and the like) are not entries.
      if (spool::valid_queue_id(name)) st->on_change(name);
    }
  }
}

}  // namespace xr::relay
