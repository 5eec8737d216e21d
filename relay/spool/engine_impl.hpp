// Internal to relay/spool/: the delivery engine's state, shared by the index
// and scheduler (delivery_engine.cpp) and the upstream side (delivery_lane.cpp).
#pragma once

#include "relay/spool/delivery_engine.hpp"
#include "relay/spool/spool_watch.hpp"
#include "relay/upstream_smtp.hpp"
#include "spool/attempt_outcome.hpp"
#include "spool/pacer.hpp"

#include <map>
#include <mutex>
#include <random>
#include <set>

namespace xr::relay {

std::int64_t unix_ms_now();

// A lane worker (SMTP or Graph) waits this long at most for its lane's
// pacing before it lets its connection or Graph slot go (the scheduler comes
// back when the pace allows).
constexpr auto kMaxPacingWait = std::chrono::seconds(20);

struct DeliveryEngine::Impl : std::enable_shared_from_this<Impl> {
  Impl(net::io_context& c, Services& s, SnapshotSource cur, const conf::Spool& cfg);

  // One queued message as the scheduler sees it. The file is the truth: an
  // attempt locks and re-reads it.
  struct Item {
    std::string lane;
    std::int64_t received_ms = 0;
    std::int64_t next_ms = 0;
    std::uint64_t bytes = 0;  // on disk
    bool held = false;
    bool busy = false;  // an attempt (or a re-read) has it locked
    bool is_dsn = false;
  };
  // Messages for one (tenant, mailbox): delivered in order of due time,
  // paced, over at most max_connections_per_mailbox connections.
  struct Lane {
    std::string tenant, mailbox;
    spool::Pacer pacer{30};
    std::set<std::pair<std::int64_t, std::string>> ready;  // (next_ms, id): not busy, not held
    std::size_t workers = 0;
    std::chrono::steady_clock::time_point retry_at{};  // no new connection before (busy slots)
  };

  // --- index (engine context only) ---
  void add(const std::string& id, const spool::Envelope& env, const spool::DeliveryState& st, std::uint64_t bytes);
  void erase(const std::string& id);
  void make_ready(const std::string& id);  // back into its lane's ready set
  void take(const std::string& id);        // out of it (busy or held)
  void refresh(const std::string& id);     // re-read after an outside change
  void rescan();
  void poke();  // re-plan now

  // --- scheduler ---
  net::awaitable<void> schedule_loop();
  std::chrono::steady_clock::time_point plan();
  std::optional<std::string> next_due(Lane& lane, std::int64_t now_ms) const;

  // --- delivery (delivery_lane.cpp) ---
  net::awaitable<void> worker(std::string lane_key);
  net::awaitable<void> deliver_lane(Lane& lane, const std::string& key);
  net::awaitable<void> use_connection(UpstreamSmtp& up, Lane& lane, std::string token);
  // A lane whose tenant sends through Microsoft Graph (graph_delivery.cpp).
  net::awaitable<void> deliver_graph_lane(Lane& lane, const std::shared_ptr<const ConfigSnapshot>& snap);
  // Locks an entry for an attempt and marks it busy; nullopt (index updated)
  // when it is gone, held, damaged or locked by `queue ...` right now.
  std::optional<spool::LockedEntry> claim(const std::string& id);
  net::awaitable<void> attempt(UpstreamSmtp& up, Lane& lane, const std::string& id);
  net::awaitable<spool::AttemptReport> send(UpstreamSmtp& up, spool::LockedEntry& locked);
  // Every due message of the lane fails this attempt the same way (no token,
  // no connection, login refused).
  net::awaitable<void> fail_due(Lane& lane, const std::string& error);
  net::awaitable<void> conclude(spool::LockedEntry locked, const spool::Decision& d, const spool::AttemptReport& report);
  // A decided entry: its DSN (if any) queued, then the entry removed. Blocking.
  void finish_final(spool::LockedEntry& locked, const spool::DeliveryState& state,
                    const std::vector<spool::FailedRecipient>& failed);
  spool::RetryRules rules() const;

  net::io_context& ctx;
  Services& svc;
  SnapshotSource current;
  conf::Spool cfg;  // as started (dir); other keys come from the snapshot
  spool::Store store;
  mutable std::mutex begin_mutex;
  std::atomic<std::uint64_t> queued_bytes{0};
  std::map<std::string, Item> items;
  std::map<std::string, Lane> lanes;
  net::steady_timer wake;
  std::unique_ptr<SpoolWatch> watch;
  std::mt19937_64 rng{std::random_device{}()};
  std::set<UpstreamSmtp*> open;  // for cut()
  bool stopping = false;
};

}  // namespace xr::relay
