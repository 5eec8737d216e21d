// The envelope as one line of JSON. Field names are short and stable: files
// written by this version are read by later ones ("v" says which format).
#include "spool/envelope.hpp"

#include "spool/json_fields.hpp"
#include "spool/queue_id.hpp"

namespace xr::spool {

namespace json = boost::json;

std::string encode_envelope(const Envelope& e) {
  json::array rcpts;
  for (const auto& r : e.rcpts) rcpts.push_back(json::object{{"address", r.address}, {"params", r.params}});
  json::object o{
      {"v", 1},
      {"id", e.id},
      {"received", e.received_ms},
      {"session", e.session},
      {"client", e.client},
      {"user", e.user},
      {"tenant", e.tenant},
      {"mailbox", e.mailbox},
      {"mail_from", e.mail_from},
      {"original_from", e.original_from},
      {"mail_params", e.mail_params},
      {"rcpts", std::move(rcpts)},
      {"dsn", e.is_dsn},
  };
  // serialize() escapes control characters, so the result is one line.
  return json::serialize(o);
}

std::optional<Envelope> decode_envelope(std::string_view text, std::string* error) {
  auto failed = [&](std::string why) -> std::optional<Envelope> {
    if (error) *error = "envelope: " + why;
    return std::nullopt;
  };
  json::value doc;
  std::string why;
  if (!json_fields::parse_object(text, doc, why)) return failed(why);
  json_fields::Reader f(doc.as_object());
  Envelope e;
  std::int64_t version = 0;
  bool ok = f.i64("v", version, true) && f.str("id", e.id, true) && f.i64("received", e.received_ms, true) &&
            f.str("session", e.session) && f.str("client", e.client) && f.str("user", e.user) &&
            f.str("tenant", e.tenant, true) && f.str("mailbox", e.mailbox, true) &&
            f.str("mail_from", e.mail_from, true) && f.str("original_from", e.original_from) &&
            f.str("mail_params", e.mail_params) && f.boolean("dsn", e.is_dsn);
  if (!ok) return failed(f.error());
  if (version != 1) return failed("unknown format version " + std::to_string(version));
  if (!valid_queue_id(e.id)) return failed("invalid id \"" + e.id + "\"");
  const auto* rcpts = f.array("rcpts", true);
  if (!rcpts) return failed(f.error());
  for (const auto& v : *rcpts) {
    if (!v.is_object()) return failed("a recipient is not an object");
    json_fields::Reader rf(v.as_object());
    Recipient r;
    if (!rf.str("address", r.address, true) || !rf.str("params", r.params)) return failed(rf.error());
    e.rcpts.push_back(std::move(r));
  }
  if (e.rcpts.empty()) return failed("no recipients");
  return e;
}

}  // namespace xr::spool
