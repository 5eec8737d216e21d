// The light shape check the config applies to mailboxes and sender patterns:
// enough to catch a missing or doubled '@', not a full RFC 5321 parser
// (Exchange is the authority on what it accepts).
#pragma once

#include <string>
#include <string_view>

namespace xr::conf {

// "local@domain": one '@', both sides non-empty, no spaces, control
// characters, '<>' or ',', and no empty labels in the domain. On failure `why`
// says what is wrong.
bool is_mailbox(std::string_view text, std::string* why = nullptr);

// A mailbox or "*@domain" (any local part at that domain).
bool is_sender_pattern(std::string_view text, std::string* why = nullptr);

}  // namespace xr::conf
