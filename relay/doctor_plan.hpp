// What `xoauth2-relay doctor` checks, derived from the configuration: each
// tenant, and each mailbox with the protocols devices use it for (a user's
// protocols that some listener serves; no_auth rules are SMTP) and the
// literal sender addresses to try with MAIL FROM.
#pragma once

#include "conf/config.hpp"

#include <string>
#include <vector>

namespace xr::relay {

struct DoctorMailbox {
  std::string tenant;
  std::string mailbox;
  std::vector<conf::Protocol> protocols;  // in smtp, imap, pop3 order
  std::vector<std::string> senders;       // the mailbox first, then other literal senders
};

struct DoctorPlan {
  std::vector<std::string> tenants;  // names, in config order
  std::vector<DoctorMailbox> mailboxes;
};

// Empty filters mean all. Mailboxes match case-insensitively.
DoctorPlan plan_doctor(const conf::Config& cfg, const std::string& tenant_filter, const std::string& mailbox_filter);

// The mailboxes users and no_auth rules map to (in `tenant_filter`'s tenant
// when it is set), lower-cased, sorted, each once.
std::vector<std::string> mapped_mailboxes(const conf::Config& cfg, const std::string& tenant_filter);

// Why `doctor --mailbox` has nothing to check for `mailbox_filter` (a typo, a
// mailbox of another tenant, or one whose protocols no listener serves), or
// empty when the plan checks it. Passing silently would look like success.
std::string mailbox_filter_problem(const conf::Config& cfg, const std::string& tenant_filter,
                                   const std::string& mailbox_filter, const DoctorPlan& plan);

}  // namespace xr::relay
