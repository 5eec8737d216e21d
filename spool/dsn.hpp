// RFC 3464 delivery status notifications: what the sender (or spool.bounce_to)
// receives when a queued message fails for good or outlives spool.max_age.
#pragma once

#include "spool/envelope.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace xr::spool {

struct FailedRecipient {
  std::string address;
  std::string status;      // enhanced code "5.1.1"; "4.4.7" for an expired message
  std::string diagnostic;  // the upstream reply ("550 5.1.1 User unknown"), or "" (expired)
};

struct DsnRequest {
  std::string reporting_mta;  // the relay's host name
  Envelope original;          // the failed message's envelope
  std::string original_headers;  // its header block (text/rfc822-headers part)
  std::vector<FailedRecipient> failed;  // never empty
  bool expired = false;       // max_age passed (Action: failed, Status 4.4.7)
  std::int64_t now_ms = 0;    // Unix ms: Date: and Arrival/Last-Attempt dates
  std::string to;             // where the DSN goes (bounce_to or the envelope sender)
};

// The whole message (CRLF line ends, every line within 998 bytes): From:
// "Mail Delivery System" <mailbox>, To:, Subject: "Undeliverable: <original
// subject>", Date:, Message-ID:, Auto-Submitted: auto-replied, MIME-Version,
// Content-Type: multipart/report; report-type=delivery-status; then a
// human-readable part, a message/delivery-status part (Reporting-MTA,
// X-Original-Message-ID, Arrival-Date; per recipient Final-Recipient,
// Action: failed, Status, Diagnostic-Code: smtp; ..., Last-Attempt-Date) and
// the original headers as text/rfc822-headers.
std::string build_dsn(const DsnRequest& request);

// The envelope of the DSN for an entry: id dsn_id_for(original.id), same
// tenant and mailbox, MAIL FROM the mailbox itself (Exchange lets the app
// send as nothing else without SendAs), one recipient `to`, is_dsn = true.
Envelope dsn_envelope(const Envelope& original, const std::string& to, std::int64_t now_ms);

}  // namespace xr::spool
