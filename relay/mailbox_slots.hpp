// Per-mailbox connection caps. Exchange Online limits concurrent connections
// per mailbox and protocol and refuses the extra ones; the relay instead
// makes extra sessions wait for a free slot (bounded), so a burst of scans
// from one printer queues rather than fails.
#pragma once

#include "relay/asio.hpp"

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace xr::relay {

class MailboxSlots {
 public:
  // One held connection slot; released when destroyed.
  class Slot {
   public:
    Slot(MailboxSlots* owner, std::string key) : owner_(owner), key_(std::move(key)) {}
    Slot(Slot&& o) noexcept : owner_(std::exchange(o.owner_, nullptr)), key_(std::move(o.key_)) {}
    Slot& operator=(Slot&& o) noexcept;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot();

   private:
    MailboxSlots* owner_;
    std::string key_;
  };

  // "tenant/protocol/mailbox" (mailbox compared case-insensitively).
  static std::string key(const std::string& tenant, const char* protocol, const std::string& mailbox);
  struct KeyParts {
    std::string tenant, protocol, mailbox;
  };
  // The inverse of key(), for reports such as /metrics.
  static KeyParts split_key(const std::string& key);

  // A slot, at once when fewer than `limit` are held, else as soon as one is
  // released; nullopt when none came within `timeout`. Waiters are served in
  // arrival order.
  net::awaitable<std::optional<Slot>> acquire(std::string key, std::size_t limit,
                                              std::chrono::steady_clock::duration timeout);

  // A slot only if one is free now and nobody waits for it (the spool's
  // delivery engine: it comes back later rather than queue behind devices).
  std::optional<Slot> try_acquire(const std::string& key, std::size_t limit);

  std::size_t in_use(const std::string& key) const;
  // Sessions waiting for a slot, by key (only keys with waiters).
  std::map<std::string, std::size_t> waiting() const;

 private:
  // A waiter takes a released slot by returning true (false: it gave up).
  using Taker = std::function<bool()>;
  struct Entry {
    std::size_t used = 0;
    std::deque<Taker> waiters;  // may hold waiters that gave up
    std::size_t waiting = 0;     // waiters still waiting
  };
  // Takes a slot now or queues `taker`; true when taken now.
  bool take_or_queue(const std::string& key, std::size_t limit, Taker taker);
  void release(const std::string& key);
  void gave_up(const std::string& key);

  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

}  // namespace xr::relay
