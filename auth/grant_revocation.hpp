// After a reload: is what a live session was granted still granted? A session
// keeps its grant for as long as it lives (an SMTP session between messages,
// a relayed IMAP session in IDLE for hours), so a reload that removes a user,
// changes a password or narrows `sources` must reach sessions already logged
// in, not only new logins. This is the decision; the relay acts on it.
#pragma once

#include "auth/access_policy.hpp"
#include "conf/config.hpp"

namespace xr::auth {

enum class Revocation {
  none,                  // still valid: the session goes on
  user_removed,          // the user is no longer in `users:`
  password_changed,      // its password hash differs (the session proved the old password)
  protocol_not_allowed,  // `protocols:` no longer lists the session's protocol
  source_not_allowed,    // `sources:` no longer contains the session's address
  tenant_changed,        // another tenant, or the tenant's identity or endpoint changed
  mailbox_changed,       // another mailbox
  grant_changed,         // SMTP: senders, rewrite_sender or delivery changed
  no_auth_removed,       // no no_auth rule matches the address any more
  no_auth_changed,       // the matching no_auth rule grants something else
};
const char* to_string(Revocation);

// `grant` was given under `before` to a session from `source` on `protocol`;
// judged against `after`. Pure: no clock, no I/O.
Revocation judge_grant(const conf::Config& before, const conf::Config& after, const Grant& grant,
                       const conf::IpAddress& source, conf::Protocol protocol);

}  // namespace xr::auth
