#include "relay/session_registry.hpp"

namespace xr::relay {
namespace {

// weak: a session that ends before the post runs is simply gone
template <typename F, typename... Args>
void post_weak(const net::any_io_executor& ex, const std::shared_ptr<F>& f, Args... args) {
  std::weak_ptr<F> weak = f;
  net::post(ex, [weak, args...] {
    if (auto g = weak.lock()) (*g)(args...);
  });
}

}  // namespace

std::shared_ptr<void> SessionRegistry::add(net::any_io_executor ex, Interrupt interrupt, Reconfigure reconfigure) {
  std::lock_guard lock(mutex_);
  auto id = next_++;
  Entry e{ex, std::make_shared<Interrupt>(std::move(interrupt)),
          reconfigure ? std::make_shared<Reconfigure>(std::move(reconfigure)) : nullptr};
  // The session ignores a snapshot it already has.
  if (e.reconfigure && latest_) post_weak(ex, e.reconfigure, latest_);
  entries_.emplace(id, std::move(e));
  // The token's deleter unlists the session; the registry outlives sessions.
  return std::shared_ptr<void>(nullptr, [this, id](void*) {
    std::lock_guard lock(mutex_);
    entries_.erase(id);
  });
}

void SessionRegistry::interrupt_all(StopPhase phase) {
  std::lock_guard lock(mutex_);
  for (auto& [id, e] : entries_) post_weak(e.ex, e.interrupt, phase);
}

void SessionRegistry::config_changed(std::shared_ptr<const ConfigSnapshot> snap) {
  std::lock_guard lock(mutex_);
  latest_ = snap;
  for (auto& [id, e] : entries_)
    if (e.reconfigure) post_weak(e.ex, e.reconfigure, snap);
}

std::size_t SessionRegistry::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace xr::relay
