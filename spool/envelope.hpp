// What the spool keeps about a message besides its bytes: the envelope as it
// goes to Office 365, and who sent it, for delivery, `queue list`, the audit
// log and bounces. Written once, with the message, and never changed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xr::spool {

struct Recipient {
  std::string address;  // without <>
  std::string params;   // ESMTP RCPT parameters as received (validated), may be ""
};

struct Envelope {
  std::string id;                // queue id (queue_id.hpp)
  std::int64_t received_ms = 0;  // Unix time of acceptance, milliseconds
  std::string session;           // the device session's id, for the log
  std::string client;            // "address:port" of the device
  std::string user;              // local user name; "" for a no_auth rule
  std::string tenant;            // key into Config::tenants
  std::string mailbox;           // the Office 365 mailbox the message goes through
  std::string mail_from;         // MAIL FROM as it goes upstream (after rewrite_sender); "" = <>
  std::string original_from;     // MAIL FROM as the device sent it (for the log and DSN)
  std::string mail_params;       // ESMTP MAIL parameters to send upstream (never SIZE), may be ""
  std::vector<Recipient> rcpts;  // never empty
  bool is_dsn = false;           // a bounce the relay made: never bounced itself
};

// One line of JSON (no newline inside). Stable: later versions read it.
std::string encode_envelope(const Envelope&);
// nullopt (and *error says why) when the text is not a valid envelope.
std::optional<Envelope> decode_envelope(std::string_view json, std::string* error = nullptr);

}  // namespace xr::spool
