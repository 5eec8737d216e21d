#include "relay/session_registry.hpp"

namespace xr::relay {

std::shared_ptr<void> SessionRegistry::add(net::any_io_executor ex, Interrupt interrupt) {
  std::lock_guard lock(mutex_);
  auto id = next_++;
  entries_.emplace(id, Entry{ex, std::make_shared<Interrupt>(std::move(interrupt))});
  // The token's deleter unlists the session; the registry outlives sessions.
  return std::shared_ptr<void>(nullptr, [this, id](void*) {
    std::lock_guard lock(mutex_);
    entries_.erase(id);
  });
}

void SessionRegistry::interrupt_all(StopPhase phase) {
  std::lock_guard lock(mutex_);
  for (auto& [id, e] : entries_) {
    // weak: a session that ends before the post runs is simply gone
    std::weak_ptr<Interrupt> weak = e.interrupt;
    net::post(e.ex, [weak, phase] {
      if (auto f = weak.lock()) (*f)(phase);
    });
  }
}

std::size_t SessionRegistry::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace xr::relay
