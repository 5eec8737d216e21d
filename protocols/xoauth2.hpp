// The SASL XOAUTH2 initial response Office 365 expects over SMTP, IMAP and
// POP3, and the recognition of its failure challenge.
#pragma once

#include <string>
#include <string_view>

namespace xr {

// base64("user=" mailbox "\x01auth=Bearer " token "\x01\x01"). Holds the token.
std::string xoauth2_initial_response(std::string_view mailbox, std::string_view token);

// The text of an error challenge (`334 <base64>` / `+ <base64>`: Google's
// and Dovecot's JSON status, which Exchange does not send) for the log:
// decoded when it is printable, else "(not printable)". Never holds a
// token: the server sends it, not us.
std::string decode_error_challenge(std::string_view base64);

}  // namespace xr
