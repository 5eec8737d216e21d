// What `xoauth2-relay queue ...` does, on the files, safe while the relay
// runs: changes take the entry's lock (so never during a delivery attempt)
// and replace the state file by rename; the running relay notices the change
// (inotify) and reschedules.
#pragma once

#include "spool/store.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace xr::spool {

struct QueueRow {
  std::string id;
  std::int64_t received_ms = 0;
  std::uint64_t size = 0;  // message bytes
  std::string user;        // "" for no_auth
  std::string tenant;
  std::string mailbox;
  std::string mail_from;
  std::vector<std::string> rcpts;  // still pending
  std::uint32_t attempts = 0;
  std::int64_t next_attempt_ms = 0;
  std::string last_error;
  bool held = false;
  bool is_dsn = false;
};

std::vector<QueueRow> queue_rows(const std::vector<Entry>& entries);
// A table for people: ID AGE SIZE USER MAILBOX RCPTS ATTEMPTS NEXT LAST-ERROR
// ("held" in NEXT for held entries), then a count line.
std::string render_queue_table(const std::vector<QueueRow>& rows, std::int64_t now_ms);
// {"now": ms, "messages": [{"id", "received", "age_s", "size", "user", "tenant",
// "mailbox", "from", "rcpts", "attempts", "next_attempt", "held", "last_error", "dsn"}]}
std::string render_queue_json(const std::vector<QueueRow>& rows, std::int64_t now_ms);

enum class OpOutcome { done, not_found, busy };
const char* to_string(OpOutcome);
enum class QueueOp {
  flush,    // next attempt now (held entries stay held)
  hold,     // not delivered until released
  release,  // held no more, next attempt now
  remove,   // deleted without a DSN
};
// Waits up to `wait_ms` for an entry that is being delivered.
OpOutcome apply_queue_op(Store& store, QueueOp op, const std::string& id, int wait_ms = 10000);

}  // namespace xr::spool
