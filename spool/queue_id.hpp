// Queue ids: what a device hears in "250 2.0.0 Queued as <id>", what
// operators type in `queue hold ID`, and the spool's file names.
#pragma once

#include <string>
#include <string_view>

namespace xr::spool {

// 20 upper-case hex digits: 12 of the receipt time in milliseconds (ids sort
// by age) and 8 random. Unique across restarts and relays.
std::string new_queue_id();

// The id of the one delivery status notification an entry may produce: the
// entry's id followed by "B". Deterministic, so a crash between queueing the
// DSN and removing the entry cannot make a second one.
std::string dsn_id_for(std::string_view id);

// 20 upper-case hex digits, optionally followed by "B" (a DSN). Anything else
// (paths, "..", lower case) is refused, so an id is always a safe file name.
bool valid_queue_id(std::string_view id);

}  // namespace xr::spool
