// Store and forward: the relay side of spool/. Keeps an index of the queue,
// and delivers per (tenant, mailbox) lane over upstream SMTP sessions: never
// more than the endpoint's max_connections_per_mailbox (shared with direct
// sessions through MailboxSlots), at most max_messages_per_minute
// submissions, several messages per connection. The files are the truth: an
// attempt locks its entry and re-reads it, so `xoauth2-relay queue ...` can
// change entries while the relay runs (inotify tells the index).
//
// Runs on one io_context (the main one), so the index needs no lock; the
// acceptance side (device sessions on other threads) only calls the
// thread-safe members marked so.
#pragma once

#include "conf/config.hpp"
#include "relay/asio.hpp"
#include "relay/runtime.hpp"
#include "spool/envelope.hpp"
#include "spool/store.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace xr::relay {

using SnapshotSource = std::function<std::shared_ptr<const ConfigSnapshot>()>;

class DeliveryEngine {
 public:
  // Opens the spool (exclusive lock; the directory is created 0700 when
  // missing). Throws spool::SpoolError naming the problem and its fix.
  DeliveryEngine(net::io_context& ctx, Services& svc, SnapshotSource current, const conf::Spool& cfg);
  ~DeliveryEngine();
  DeliveryEngine(const DeliveryEngine&) = delete;
  DeliveryEngine& operator=(const DeliveryEngine&) = delete;

  // Recovers the queue (finishes decided entries, removes temporary files),
  // starts watching the directories and delivering. Call once, on the
  // engine's context, before the listeners open.
  void start();

  // --- acceptance: thread-safe ---------------------------------------------------
  // Why a message of `incoming` bytes cannot be taken now (max_size,
  // min_free), or nullopt.
  std::optional<std::string> refusal(std::uint64_t incoming) const;
  // A new message's tmp file (the envelope's id must be new).
  spool::Writer begin(const spool::Envelope& envelope);
  // After Writer::commit() returned: the message is queued.
  void queued(const spool::Envelope& envelope, std::uint64_t file_size);

  // --- operations: on the engine's context --------------------------------------------
  // Readiness: why new mail is refused now (for /readyz), or nullopt.
  std::optional<std::string> not_ready() const;
  struct Stats {
    std::size_t messages = 0;
    std::uint64_t bytes = 0;
    double oldest_age_s = 0;  // 0 when empty
  };
  Stats stats() const;
  // SIGHUP: a changed spool.dir takes a restart (logged); everything else is
  // read from the current snapshot when used.
  void reload(const conf::Config& cfg);
  // SIGTERM: no new attempts; attempts in progress go on.
  void drain();
  // Grace over: attempts in progress are cut (their messages stay queued and
  // are retried after the restart).
  void cut();
  // Connections still open (drain waits for 0).
  std::size_t active() const;
  const std::string& dir() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace xr::relay
