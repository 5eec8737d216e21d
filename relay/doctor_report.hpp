// `doctor`'s findings: one row per check, printed as a table, and for each
// failure the exact fix with the tenant's own IDs filled in (the Entra portal
// step or the Exchange Online PowerShell command).
#pragma once

#include "conf/config.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace xr::relay {

struct DoctorRow {
  std::string tenant;
  std::string mailbox = "-";
  std::string protocol = "-";
  std::string check;   // "token", "roles", "credential", "login", "send as <address>"
  bool ok = true;
  std::string result;  // "ok", or what went wrong
  std::string fix;     // empty when ok
};

// The table, then a numbered "fix" section for the failures.
std::string render_doctor_report(const std::vector<DoctorRow>& rows);

// Fixes, in the admin's terms.
std::string fix_missing_roles(const conf::Tenant& t, const std::vector<std::string>& roles);
std::string fix_mailbox_access(const conf::Tenant& t, const std::string& mailbox, std::string_view role);
std::string fix_smtp_auth_disabled(const std::string& mailbox);
std::string fix_send_as(const conf::Tenant& t, const std::string& sender);
std::string fix_unreachable(const conf::Endpoint& ep);

}  // namespace xr::relay
