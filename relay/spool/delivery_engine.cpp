#include "relay/spool/delivery_engine.hpp"

#include "relay/mailbox_slots.hpp"
#include "relay/spool/engine_impl.hpp"

#include <fmt/format.h>

namespace xr::relay {
namespace {

using conf::LogLevel;
using Steady = std::chrono::steady_clock;

// How long the scheduler sleeps at most, whatever the queue says: a safety
// net against a missed wake-up, cheap when nothing is due.
constexpr auto kMaxSleep = std::chrono::seconds(30);

std::string lane_key(const std::string& tenant, const std::string& mailbox) {
  return MailboxSlots::key(tenant, "smtp", mailbox);
}

}  // namespace

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

DeliveryEngine::Impl::Impl(net::io_context& c, Services& s, SnapshotSource cur, const conf::Spool& spool_cfg)
    : ctx(c),
      svc(s),
      current(std::move(cur)),
      cfg(spool_cfg),
      store(spool::Store::Options{spool_cfg.dir, /*exclusive=*/true, /*create=*/true}),
      wake(c) {}

DeliveryEngine::DeliveryEngine(net::io_context& ctx, Services& svc, SnapshotSource current, const conf::Spool& cfg)
    : impl_(std::make_shared<Impl>(ctx, svc, std::move(current), cfg)) {}

DeliveryEngine::~DeliveryEngine() {
  if (impl_->watch) impl_->watch->stop();
}

const std::string& DeliveryEngine::dir() const { return impl_->cfg.dir; }

spool::RetryRules DeliveryEngine::Impl::rules() const {
  auto snap = current();
  const auto& sp = snap->config.spool ? *snap->config.spool : cfg;
  return {sp.retry_schedule, sp.max_age};
}

void DeliveryEngine::start() {
  auto& m = *impl_;
  // Recovery: the relay holds the lock, so nothing else delivers. Entries
  // decided before a crash get their DSN and go first, before any delivery
  // could send that DSN and a second one be made.
  auto scan = m.store.scan(/*remove_temp=*/true);
  std::size_t finished = 0;
  std::uint64_t bytes = 0;
  for (auto& e : scan.entries) {
    if (e.state.final) {
      try {
        if (auto locked = m.store.lock(e.envelope.id)) {
          const auto& entry = locked->entry();
          m.finish_final(*locked, entry.state, spool::failed_recipients(entry.envelope, entry.state));
          ++finished;
        }
      } catch (const spool::SpoolError& err) {
        // Left as it is: the next start tries again; nothing is delivered twice.
        m.svc.log.error("", "spool_error", {{"id", e.envelope.id}, {"error", err.what()}});
      }
      continue;
    }
    bytes += e.file_size;
    m.add(e.envelope.id, e.envelope, e.state, e.file_size);
  }
  // finish_final may have queued DSNs: they were added to the index there.
  for (const auto& id : scan.unreadable)
    m.svc.log.error("", "spool_corrupt", {{"id", id}, {"moved_to", m.cfg.dir + "/corrupt/" + id},
                                          {"fix", "inspect the file; it will not be delivered"}});
  m.svc.log.info("", "spool_recovered",
                 {{"dir", m.cfg.dir}, {"messages", m.items.size()}, {"bytes", m.queued_bytes.load()},
                  {"temp_removed", scan.temp_removed}, {"finished", finished},
                  {"corrupt", scan.unreadable.size()}});
  auto weak = std::weak_ptr<Impl>(impl_);
  m.watch = std::make_unique<SpoolWatch>(
      m.ctx.get_executor(), m.cfg.dir,
      [weak](const std::string& id) {
        if (auto self = weak.lock()) self->refresh(id);
      },
      [weak] {
        if (auto self = weak.lock()) self->rescan();
      });
  net::co_spawn(m.ctx, m.schedule_loop(), net::detached);
}

// --- acceptance -------------------------------------------------------------------

std::optional<std::string> DeliveryEngine::refusal(std::uint64_t incoming) const {
  auto snap = impl_->current();
  const auto& sp = snap->config.spool ? *snap->config.spool : impl_->cfg;
  std::uint64_t free_bytes = 0;
  try {
    free_bytes = impl_->store.free_bytes();
  } catch (const spool::SpoolError& e) {
    return std::string("spool file system: ") + e.what();
  }
  return spool::refusal_reason(impl_->queued_bytes.load(), incoming, free_bytes, sp.max_size, sp.min_free);
}

spool::Writer DeliveryEngine::begin(const spool::Envelope& envelope) {
  std::lock_guard g(impl_->begin_mutex);
  return impl_->store.begin(envelope);
}

void DeliveryEngine::queued(const spool::Envelope& envelope, std::uint64_t file_size) {
  // Counted at once, so concurrent sessions see the space it takes.
  impl_->queued_bytes += file_size;
  net::post(impl_->ctx, [self = impl_, env = envelope, file_size] {
    self->queued_bytes -= file_size;  // add() counts it again
    self->add(env.id, env, spool::DeliveryState{}, file_size);
    self->poke();
  });
}

// --- operations ---------------------------------------------------------------------

std::optional<std::string> DeliveryEngine::not_ready() const {
  if (auto why = refusal(0)) return "the spool refuses new mail: " + *why;
  return std::nullopt;
}

DeliveryEngine::Stats DeliveryEngine::stats() const {
  Stats s;
  s.messages = impl_->items.size();
  s.bytes = impl_->queued_bytes.load();
  if (!impl_->items.empty()) {
    std::int64_t oldest = impl_->items.begin()->second.received_ms;
    for (const auto& [id, it] : impl_->items) oldest = std::min(oldest, it.received_ms);
    s.oldest_age_s = std::max<double>(0, double(unix_ms_now() - oldest) / 1000.0);
  }
  return s;
}

void DeliveryEngine::reload(const conf::Config& cfg) {
  if (cfg.spool && cfg.spool->dir != impl_->cfg.dir)
    impl_->svc.log.warn("", "spool_dir_unchanged",
                        {{"running", impl_->cfg.dir}, {"configured", cfg.spool->dir},
                         {"fix", "a new spool.dir takes effect at the next restart; queued messages stay in the old one until then"}});
  impl_->poke();  // rates and schedules may have changed
}

void DeliveryEngine::drain() {
  impl_->stopping = true;
  impl_->poke();
}

void DeliveryEngine::cut() {
  impl_->stopping = true;
  // The message in flight stays queued: its entry is only removed after
  // Office 365's 2xx, which now will not come.
  for (auto* up : impl_->open) up->abandon();
}

std::size_t DeliveryEngine::active() const {
  std::size_t n = 0;
  for (const auto& [k, lane] : impl_->lanes) n += lane.workers;
  return n;
}

// --- index --------------------------------------------------------------------------------

void DeliveryEngine::Impl::add(const std::string& id, const spool::Envelope& env, const spool::DeliveryState& st,
                               std::uint64_t bytes) {
  if (items.count(id)) return;
  Item it;
  it.lane = lane_key(env.tenant, env.mailbox);
  it.received_ms = env.received_ms;
  it.next_ms = st.next_attempt_ms;
  it.bytes = bytes;
  it.held = st.held;
  it.is_dsn = env.is_dsn;
  auto& lane = lanes[it.lane];
  if (lane.tenant.empty()) {
    lane.tenant = env.tenant;
    lane.mailbox = env.mailbox;
  }
  items.emplace(id, std::move(it));
  queued_bytes += bytes;
  make_ready(id);
}

void DeliveryEngine::Impl::erase(const std::string& id) {
  auto it = items.find(id);
  if (it == items.end()) return;
  take(id);
  queued_bytes -= it->second.bytes;
  items.erase(it);
}

void DeliveryEngine::Impl::make_ready(const std::string& id) {
  auto it = items.find(id);
  if (it == items.end() || it->second.busy || it->second.held) return;
  lanes[it->second.lane].ready.insert({it->second.next_ms, id});
}

void DeliveryEngine::Impl::take(const std::string& id) {
  auto it = items.find(id);
  if (it == items.end()) return;
  lanes[it->second.lane].ready.erase({it->second.next_ms, id});
}

void DeliveryEngine::Impl::refresh(const std::string& id) {
  auto it = items.find(id);
  if (it != items.end() && it->second.busy) return;  // our own attempt: it knows
  std::optional<spool::Entry> entry;
  try {
    entry = store.load(id);
  } catch (const spool::SpoolError& e) {
    // Damaged under our feet: never delivered; the next start moves it to corrupt/.
    svc.log.error("", "spool_corrupt", {{"id", id}, {"error", e.what()}});
    erase(id);
    return;
  }
  if (!entry) {
    if (it != items.end()) {
      svc.log.info("", "spool_removed", {{"id", id}, {"by", "queue delete"}});
      erase(id);
    }
    return;
  }
  if (entry->state.final) return;  // being finished by us
  if (it == items.end()) {
    add(id, entry->envelope, entry->state, entry->file_size);
  } else {
    take(id);
    it->second.next_ms = entry->state.next_attempt_ms;
    it->second.held = entry->state.held;
    make_ready(id);
  }
  poke();
}

void DeliveryEngine::Impl::rescan() {
  spool::Store::Scan scan;
  try {
    scan = store.scan(/*remove_temp=*/false);
  } catch (const spool::SpoolError& e) {
    svc.log.error("", "spool_error", {{"error", e.what()}, {"while", "rescanning after lost inotify events"}});
    return;
  }
  std::set<std::string> present;
  for (auto& e : scan.entries) {
    present.insert(e.envelope.id);
    refresh(e.envelope.id);
  }
  std::vector<std::string> gone;
  for (const auto& [id, it] : items)
    if (!it.busy && !present.count(id)) gone.push_back(id);
  for (const auto& id : gone) erase(id);
  poke();
}

void DeliveryEngine::Impl::poke() { wake.cancel(); }

// --- scheduler ---------------------------------------------------------------------------

std::optional<std::string> DeliveryEngine::Impl::next_due(Lane& lane, std::int64_t now_ms) const {
  if (lane.ready.empty() || lane.ready.begin()->first > now_ms) return std::nullopt;
  return lane.ready.begin()->second;
}

Steady::time_point DeliveryEngine::Impl::plan() {
  const auto now = Steady::now();
  const auto now_ms = unix_ms_now();
  auto earliest = now + kMaxSleep;
  auto at = [&](std::int64_t ms) { return now + std::chrono::milliseconds(std::max<std::int64_t>(0, ms - now_ms)); };
  if (stopping) return earliest;
  auto snap = current();
  for (auto& [key, lane] : lanes) {
    if (lane.ready.empty()) continue;
    if (lane.ready.begin()->first > now_ms) {
      earliest = std::min(earliest, at(lane.ready.begin()->first));
      continue;
    }
    std::size_t due = 0;
    for (auto i = lane.ready.begin(); i != lane.ready.end() && i->first <= now_ms && due < 1000; ++i) ++due;
    auto t = snap->config.tenants.find(lane.tenant);
    std::size_t cap = t == snap->config.tenants.end() ? 1 : t->second.smtp.max_connections_per_mailbox;
    if (t != snap->config.tenants.end()) lane.pacer.set_rate(t->second.smtp.max_messages_per_minute);
    auto paced = lane.pacer.next_allowed(now);
    if (paced > now || lane.retry_at > now) {
      earliest = std::min(earliest, std::max(paced, lane.retry_at));
      continue;
    }
    const std::size_t want = std::min(cap, due);
    while (lane.workers < want) {
      ++lane.workers;  // counted before it runs, so this loop sees it
      net::co_spawn(ctx, worker(key), net::detached);
    }
  }
  return earliest;
}

net::awaitable<void> DeliveryEngine::Impl::schedule_loop() {
  auto self = shared_from_this();
  while (!stopping) {
    auto when = plan();
    wake.expires_at(when);
    co_await wake.async_wait(net::as_tuple(net::use_awaitable));
  }
}

}  // namespace xr::relay
