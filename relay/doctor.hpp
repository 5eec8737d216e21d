// `xoauth2-relay doctor`: walks the set-up an admin did by hand in the Entra
// portal and in Exchange Online PowerShell, against the real endpoints of
// each tenant: a token request (and its claims: tenant, app, roles, expiry),
// the credential's expiry, then for each mapped mailbox an XOAUTH2 login over
// each protocol devices use it for (then logout), for IMAP an EXAMINE INBOX
// (Exchange accepts the login without FullAccess and refuses only there), and
// for SMTP a MAIL FROM with each literal sender (then RSET). Nothing is sent,
// nothing is stored. Fixes name the tenant's own files, IDs and config keys;
// a --mailbox the configuration does not map is an error, not a silent pass.
#pragma once

#include "conf/config.hpp"

#include <ostream>
#include <string>

namespace xr::relay {

struct DoctorOptions {
  std::string tenant;   // empty: every tenant
  std::string mailbox;  // empty: every mapped mailbox
};

// Prints the report to `out`; returns 0 when every check passed, else 1.
int run_doctor(const conf::Config& cfg, const DoctorOptions& options, std::ostream& out);

}  // namespace xr::relay
