// `spool:` — the durable queue behind `delivery: spool`. The loader only
// checks values; the relay creates and locks the directory at run time, so
// `check-config` works on a machine without it.
#include "conf/loader.hpp"
#include "conf/mail_address.hpp"

#include <string>

namespace xr::conf {
namespace {

constexpr std::uint64_t kMiB = 1ULL << 20;

// "5d", "1h", "90s": how a duration reads back in a message.
std::string show(std::chrono::seconds d) {
  auto s = d.count();
  if (s % 86400 == 0) return std::to_string(s / 86400) + "d";
  if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

void read_max_age(LoadContext& ctx, const Entry& f, Spool& s) {
  auto v = read_duration(ctx.diag, f);
  if (!v) return;
  // Shorter than a minute leaves no room for a single retry.
  if (*v < std::chrono::minutes(1))
    ctx.diag.add(f.mark(), f.path, "must be at least 1m: a message this young would bounce before its first retry; "
                                   "the default is 5d");
  else
    s.max_age = *v;
}

void read_retry_schedule(LoadContext& ctx, const Entry& f, Spool& s) {
  auto items = read_list(ctx.diag, f, "[1m, 2m, 5m, 10m, 30m, 1h]");
  if (!items) return;
  if (items->empty()) {
    ctx.diag.add(f.mark(), f.path, "an empty schedule never retries; list at least one delay, e.g. [1m, 5m, 30m], "
                                   "or omit retry_schedule for the default");
    return;
  }
  std::vector<std::chrono::seconds> steps;
  bool ok = true;
  for (const auto& item : *items) {
    auto v = read_duration(ctx.diag, item);
    if (!v) {
      ok = false;
    } else if (v->count() == 0) {
      ctx.diag.add(item.mark(), item.path, "must be at least 1s: a zero delay would retry in a tight loop");
      ok = false;
    } else if (*v > s.max_age) {
      // The message would bounce before this retry ever ran.
      ctx.diag.add(item.mark(), item.path,
                   "`" + show(*v) + "` is longer than max_age (" + show(s.max_age) +
                       "), so this retry would never run; shorten it or raise max_age");
      ok = false;
    } else {
      steps.push_back(*v);
    }
  }
  if (ok) s.retry_schedule = std::move(steps);
}

void read_bounce_to(LoadContext& ctx, const Entry& f, Spool& s) {
  if (f.value.IsNull()) return;  // null: the envelope sender
  auto text = read_string(ctx.diag, f);
  if (!text) return;
  std::string why;
  if (!is_mailbox(*text, &why)) {
    ctx.diag.add(f.mark(), f.path, "`" + *text + "` is not a mailbox address: " + why +
                                       "; or write null to bounce to the envelope sender");
    return;
  }
  s.bounce_to = *text;
}

}  // namespace

void load_spool(LoadContext& ctx, const Entry& e, Config& cfg) {
  Spool s;
  // `spool:` with nothing after it, like `spool: {}`, turns the spool on with
  // every default.
  if (e.value.IsNull()) {
    cfg.spool = s;
    return;
  }
  MapReader m(ctx.diag, e, {"dir", "max_size", "min_free", "max_age", "retry_schedule", "bounce_to"});
  if (!m.is_map()) return;
  if (auto f = m.get("dir"))
    if (auto v = read_path(ctx, *f)) s.dir = *v;
  if (auto f = m.get("max_size")) {
    if (auto v = read_size(ctx.diag, *f)) {
      if (*v < kMiB) ctx.diag.add(f->mark(), f->path, "must be at least 1M (one scan is often several MB); the default is 2G");
      else s.max_size = *v;
    }
  }
  if (auto f = m.get("min_free"))
    if (auto v = read_size(ctx.diag, *f)) s.min_free = *v;  // 0 turns the check off
  // max_age before the schedule: every step is checked against it.
  if (auto f = m.get("max_age")) read_max_age(ctx, *f, s);
  if (auto f = m.get("retry_schedule")) read_retry_schedule(ctx, *f, s);
  if (auto f = m.get("bounce_to")) read_bounce_to(ctx, *f, s);
  cfg.spool = std::move(s);
}

}  // namespace xr::conf
