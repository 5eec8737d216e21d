// The mutable part of a queue entry: attempts, schedule, hold, and what became
// of each recipient. Kept in its own small file (state/<id>), replaced whole by
// rename, so a reader never sees half of it and the message file never changes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xr::spool {

enum class RcptStatus { pending, delivered, failed };
const char* to_string(RcptStatus);

struct RcptState {
  RcptStatus status = RcptStatus::pending;
  std::string reply;  // the upstream reply that decided it (failed: goes into the DSN)
};

struct DeliveryState {
  std::uint32_t attempts = 0;         // delivery attempts made so far
  std::int64_t next_attempt_ms = 0;   // Unix ms; 0 = as soon as possible
  std::int64_t last_attempt_ms = 0;   // 0 = never tried
  std::string last_error;             // last failure, for `queue list` ("" = none)
  bool held = false;                  // `queue hold`: not delivered until released
  // Set when the entry's fate is decided (every recipient delivered or
  // failed, or max_age passed): only the DSN (if any) and the removal remain.
  // Recovery finishes such entries before delivering anything.
  bool final = false;
  bool expired = false;               // final because of max_age
  std::vector<RcptState> rcpts;       // index-aligned with Envelope::rcpts; empty = all pending

  // Recipient i's status (pending when rcpts is shorter).
  RcptStatus rcpt(std::size_t i) const { return i < rcpts.size() ? rcpts[i].status : RcptStatus::pending; }
  // Sets recipient i, growing rcpts to `count` entries first.
  void set_rcpt(std::size_t i, std::size_t count, RcptStatus s, std::string reply);
};

std::string encode_state(const DeliveryState&);
std::optional<DeliveryState> decode_state(std::string_view json, std::string* error = nullptr);

}  // namespace xr::spool
