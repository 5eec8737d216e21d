// Graph takes a message's recipients from its To/Cc/Bcc headers only: an
// envelope recipient in none of them (a Bcc-only or list recipient) would be
// silently lost. The relay therefore puts ONE Bcc: line in front of the
// message (the rule itself: protocols/recipient_headers.*) and leaves the
// message's own Bcc fields out, their addresses moved into that line:
// whether Exchange merges duplicate fields or keeps one, nobody is lost.
// Exchange removes Bcc: before delivery, as it does for any Bcc.
#pragma once

#include "protocols/recipient_headers.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace xr::graph {

struct BccPlan {
  std::string field;                   // "Bcc: a@x, b@y\r\n" (folded), "" when none is needed
  std::vector<smtp::ByteRange> drop;   // the message's own Bcc fields, left out of what is sent
  std::uint64_t dropped() const;       // their bytes in all
};

// `head`: the message's first bytes. `whole`: they are the whole message
// (else a bounded read: if it ends inside the header block, its last line
// is not trusted). `max_header`: limits.max_header_size.
BccPlan plan_bcc(std::string_view head, bool whole, const std::vector<std::string>& envelope,
                 std::size_t max_header);

// The most a Bcc: line for these envelope recipients can add (the spool
// intake checks Graph's limit before it queues: delivery adds the line later;
// addresses moved from the message's own Bcc fields bring their field's
// bytes with them, so the envelope alone bounds the growth).
std::uint64_t bcc_room(const std::vector<std::string>& rcpts);

}  // namespace xr::graph
