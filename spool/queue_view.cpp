// `queue list`: rows from the scanned entries, as a table for people and as
// JSON for scripts.
#include "spool/queue_ops.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace xr::spool {
namespace {

std::string age_text(std::int64_t ms) {
  const std::int64_t s = std::max<std::int64_t>(ms, 0) / 1000;
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m", s / 60);
  if (s < 2 * 86400) return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
  return fmt::format("{}d{:02}h", s / 86400, s % 86400 / 3600);
}

std::string size_text(std::uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{}B", bytes);
  if (bytes < 1024 * 1024) return fmt::format("{:.1f}K", bytes / 1024.0);
  if (bytes < 1024ULL * 1024 * 1024) return fmt::format("{:.1f}M", bytes / (1024.0 * 1024));
  return fmt::format("{:.1f}G", bytes / (1024.0 * 1024 * 1024));
}

std::string next_text(const QueueRow& r, std::int64_t now_ms) {
  if (r.held) return "held";
  if (r.next_attempt_ms <= now_ms) return "now";
  return "in " + age_text(r.next_attempt_ms - now_ms);
}

std::string rcpts_text(const std::vector<std::string>& rcpts) {
  if (rcpts.empty()) return "-";
  return rcpts.size() == 1 ? rcpts.front() : fmt::format("{} +{}", rcpts.front(), rcpts.size() - 1);
}

// A cell stays on one line and within reason; the JSON has everything.
std::string cell(std::string s, std::size_t max = 60) {
  for (char& c : s)
    if (c == '\r' || c == '\n' || c == '\t') c = ' ';
  if (s.size() > max) s = s.substr(0, max - 3) + "...";
  return s.empty() ? "-" : s;
}

}  // namespace

std::vector<QueueRow> queue_rows(const std::vector<Entry>& entries) {
  std::vector<QueueRow> rows;
  rows.reserve(entries.size());
  for (const auto& e : entries) {
    QueueRow r;
    r.id = e.envelope.id;
    r.received_ms = e.envelope.received_ms;
    r.size = e.message_size;
    r.user = e.envelope.user;
    r.tenant = e.envelope.tenant;
    r.mailbox = e.envelope.mailbox;
    r.mail_from = e.envelope.mail_from;
    for (std::size_t i = 0; i < e.envelope.rcpts.size(); ++i)
      if (e.state.rcpt(i) == RcptStatus::pending) r.rcpts.push_back(e.envelope.rcpts[i].address);
    r.attempts = e.state.attempts;
    r.next_attempt_ms = e.state.next_attempt_ms;
    r.last_error = e.state.last_error;
    r.held = e.state.held;
    r.is_dsn = e.envelope.is_dsn;
    rows.push_back(std::move(r));
  }
  return rows;
}

std::string render_queue_table(const std::vector<QueueRow>& rows, std::int64_t now_ms) {
  using Row = std::array<std::string, 9>;
  std::vector<Row> cells;
  cells.push_back({"ID", "AGE", "SIZE", "USER", "MAILBOX", "RCPTS", "ATTEMPTS", "NEXT", "LAST-ERROR"});
  std::uint64_t total = 0;
  for (const auto& r : rows) {
    total += r.size;
    cells.push_back({r.id, age_text(now_ms - r.received_ms), size_text(r.size),
                     r.is_dsn ? "(bounce)" : cell(r.user, 32), cell(r.mailbox, 48), cell(rcpts_text(r.rcpts), 48),
                     std::to_string(r.attempts), next_text(r, now_ms), cell(r.last_error)});
  }
  std::array<std::size_t, 9> width{};
  for (const auto& row : cells)
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  std::string out;
  for (const auto& row : cells) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(width[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  if (rows.empty())
    out = "queue is empty\n";
  else
    out += fmt::format("{} message{}, {} queued\n", rows.size(), rows.size() == 1 ? "" : "s", size_text(total));
  return out;
}

std::string render_queue_json(const std::vector<QueueRow>& rows, std::int64_t now_ms) {
  boost::json::array messages;
  for (const auto& r : rows) {
    boost::json::array rcpts;
    for (const auto& a : r.rcpts) rcpts.emplace_back(a);
    messages.push_back(boost::json::object{
        {"id", r.id},
        {"received", r.received_ms},
        {"age_s", std::max<std::int64_t>(now_ms - r.received_ms, 0) / 1000},
        {"size", r.size},
        {"user", r.user},
        {"tenant", r.tenant},
        {"mailbox", r.mailbox},
        {"from", r.mail_from},
        {"rcpts", std::move(rcpts)},
        {"attempts", r.attempts},
        {"next_attempt", r.next_attempt_ms},
        {"held", r.held},
        {"last_error", r.last_error},
        {"dsn", r.is_dsn},
    });
  }
  boost::json::object doc{{"now", now_ms}, {"messages", std::move(messages)}};
  return boost::json::serialize(doc) + "\n";
}

}  // namespace xr::spool
