// The live sessions, so a shutdown can ask each to finish and a reload can
// have each judge its access again. Sessions live on several io_contexts:
// the registry posts every request to each one's executor.
#pragma once

#include "relay/asio.hpp"
#include "relay/runtime.hpp"

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
  // A successful reload: the session checks its grant against the new
  // config (revoked: it ends) and uses it for any later login.
  using Reconfigure = std::function<void(std::shared_ptr<const ConfigSnapshot>)>;

  // Returns a token; the session is listed until the token is destroyed.
  // When a reload happened since the session's snapshot was taken, the
  // newest snapshot is posted to it at once (it may have been accepted just
  // before the reload and listed just after its notification).
  std::shared_ptr<void> add(net::any_io_executor ex, Interrupt interrupt, Reconfigure reconfigure = {});
  // Posts every session's interrupt to its executor.
  void interrupt_all(StopPhase phase);
  // Remembers `snap` as the newest and posts it to every session. Call it
  // before anything else of the reload is published (tokens, the accept
  // loop's snapshot): a session then always hears of the new config before
  // it can receive a token made from it.
  void config_changed(std::shared_ptr<const ConfigSnapshot> snap);
  std::size_t size() const;

 private:
  struct Entry {
    net::any_io_executor ex;
    std::shared_ptr<Interrupt> interrupt;
    std::shared_ptr<Reconfigure> reconfigure;  // null: the session ignores reloads
  };
  mutable std::mutex mutex_;
  std::uint64_t next_ = 0;
  std::unordered_map<std::uint64_t, Entry> entries_;
  std::shared_ptr<const ConfigSnapshot> latest_;  // null until the first reload
};

}  // namespace xr::relay
