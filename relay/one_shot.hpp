// A completion that several parties race to deliver exactly once: a service
// answering from its own thread (token provider, mailbox slots) against a
// cancellation (timeout, shutdown). The winner posts the handler to the
// session's executor; the losers see `false` from complete().
#pragma once

#include "relay/asio.hpp"

#include <atomic>
#include <memory>

namespace xr::relay {

template <typename Handler, typename Result>
class OneShot : public std::enable_shared_from_this<OneShot<Handler, Result>> {
 public:
  explicit OneShot(Handler h)
      : handler_(std::move(h)), work_(net::make_work_guard(net::get_associated_executor(handler_))) {}

  // True when this call delivered the result.
  bool complete(Result result) {
    if (done_.exchange(true)) return false;
    auto self = this->shared_from_this();
    net::post(work_.get_executor(), [self, result = std::move(result)]() mutable {
      auto h = std::move(self->handler_);
      self->work_.reset();
      // The slot must not outlive the operation it cancels.
      auto slot = net::get_associated_cancellation_slot(h);
      if (slot.is_connected()) slot.clear();
      std::move(h)(std::move(result));
    });
    return true;
  }

  bool done() const { return done_.load(); }

  // On cancellation (the `||` timer won), deliver `on_cancel`.
  void on_cancel(Result on_cancel) {
    auto slot = net::get_associated_cancellation_slot(handler_);
    if (!slot.is_connected()) return;
    slot.assign([weak = this->weak_from_this(), r = std::move(on_cancel)](net::cancellation_type) {
      if (auto p = weak.lock()) p->complete(r);
    });
  }

 private:
  Handler handler_;
  net::executor_work_guard<net::associated_executor_t<Handler>> work_;
  std::atomic<bool> done_{false};
};

}  // namespace xr::relay
