// The live sessions, so a shutdown can ask each to finish. Sessions live on
// several io_contexts: the registry posts the request to each one's executor.
#pragma once

#include "relay/asio.hpp"

#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace xr::relay {

// A shutdown asks twice: `drain` when it starts (sessions between messages
// or still logging in stop; relayed IMAP/POP3 sessions go on), `cut` when
// the grace period is over (every session ends, with the protocol's notice).
enum class StopPhase { drain, cut };

class SessionRegistry {
 public:
  using Interrupt = std::function<void(StopPhase)>;

  // Returns a token; the session is listed until the token is destroyed.
  std::shared_ptr<void> add(net::any_io_executor ex, Interrupt interrupt);
  // Posts every session's interrupt to its executor.
  void interrupt_all(StopPhase phase);
  std::size_t size() const;

 private:
  struct Entry {
    net::any_io_executor ex;
    std::shared_ptr<Interrupt> interrupt;
  };
  mutable std::mutex mutex_;
  std::uint64_t next_ = 0;
  std::unordered_map<std::uint64_t, Entry> entries_;
};

}  // namespace xr::relay
