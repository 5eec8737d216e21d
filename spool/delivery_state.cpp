// The delivery state as JSON. Like the envelope, unknown fields are ignored
// and wrong types are refused: a state file that cannot be trusted must not
// reset attempts or forget that a recipient was already delivered.
#include "spool/delivery_state.hpp"

#include "spool/json_fields.hpp"

namespace xr::spool {

namespace json = boost::json;

const char* to_string(RcptStatus s) {
  switch (s) {
    case RcptStatus::pending: return "pending";
    case RcptStatus::delivered: return "delivered";
    case RcptStatus::failed: return "failed";
  }
  return "pending";
}

namespace {

std::optional<RcptStatus> parse_status(std::string_view s) {
  for (auto v : {RcptStatus::pending, RcptStatus::delivered, RcptStatus::failed})
    if (s == to_string(v)) return v;
  return std::nullopt;
}

}  // namespace

void DeliveryState::set_rcpt(std::size_t i, std::size_t count, RcptStatus s, std::string reply) {
  if (rcpts.size() < count) rcpts.resize(count);
  if (i >= rcpts.size()) rcpts.resize(i + 1);
  rcpts[i].status = s;
  rcpts[i].reply = std::move(reply);
}

std::string encode_state(const DeliveryState& s) {
  json::array rcpts;
  for (const auto& r : s.rcpts) rcpts.push_back(json::object{{"status", to_string(r.status)}, {"reply", r.reply}});
  json::object o{
      {"v", 1},
      {"attempts", s.attempts},
      {"next_attempt", s.next_attempt_ms},
      {"last_attempt", s.last_attempt_ms},
      {"last_error", s.last_error},
      {"held", s.held},
      {"final", s.final},
      {"expired", s.expired},
      {"rcpts", std::move(rcpts)},
  };
  return json::serialize(o);
}

std::optional<DeliveryState> decode_state(std::string_view text, std::string* error) {
  auto failed = [&](std::string why) -> std::optional<DeliveryState> {
    if (error) *error = "state: " + why;
    return std::nullopt;
  };
  json::value doc;
  std::string why;
  if (!json_fields::parse_object(text, doc, why)) return failed(why);
  json_fields::Reader f(doc.as_object());
  DeliveryState s;
  std::int64_t version = 0;
  bool ok = f.i64("v", version, true) && f.u32("attempts", s.attempts) && f.i64("next_attempt", s.next_attempt_ms) &&
            f.i64("last_attempt", s.last_attempt_ms) && f.str("last_error", s.last_error) &&
            f.boolean("held", s.held) && f.boolean("final", s.final) && f.boolean("expired", s.expired);
  if (!ok) return failed(f.error());
  if (version != 1) return failed("unknown format version " + std::to_string(version));
  const auto* rcpts = f.array("rcpts");
  if (!f.error().empty()) return failed(f.error());
  if (rcpts) {
    for (const auto& v : *rcpts) {
      if (!v.is_object()) return failed("a recipient is not an object");
      json_fields::Reader rf(v.as_object());
      std::string status;
      RcptState r;
      if (!rf.str("status", status, true) || !rf.str("reply", r.reply)) return failed(rf.error());
      auto st = parse_status(status);
      if (!st) return failed("unknown recipient status \"" + status + "\"");
      r.status = *st;
      s.rcpts.push_back(std::move(r));
    }
  }
  return s;
}

}  // namespace xr::spool
