#include "relay/doctor_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace xr::relay {

std::string render_doctor_report(const std::vector<DoctorRow>& rows) {
  std::array<std::size_t, 5> w{6, 7, 8, 5, 6};  // header widths
  for (const auto& r : rows) {
    w[0] = std::max(w[0], r.tenant.size());
    w[1] = std::max(w[1], r.mailbox.size());
    w[2] = std::max(w[2], r.protocol.size());
    w[3] = std::max(w[3], r.check.size());
  }
  std::string out = fmt::format("{:<{}}  {:<{}}  {:<{}}  {:<{}}  {}\n", "TENANT", w[0], "MAILBOX", w[1], "PROTOCOL",
                                w[2], "CHECK", w[3], "RESULT");
  for (const auto& r : rows)
    out += fmt::format("{:<{}}  {:<{}}  {:<{}}  {:<{}}  {}{}\n", r.tenant, w[0], r.mailbox, w[1], r.protocol, w[2],
                       r.check, w[3], r.ok ? "" : "FAIL: ", r.result);
  int n = 0;
  for (const auto& r : rows) {
    if (r.ok || r.fix.empty()) continue;
    if (n == 0) out += "\nHow to fix:\n";
    out += fmt::format("  {}. {}{}{}: {}\n", ++n, r.tenant, r.mailbox == "-" ? "" : " " + r.mailbox,
                       r.protocol == "-" ? "" : " (" + r.protocol + ")", r.fix);
  }
  const auto failed = std::count_if(rows.begin(), rows.end(), [](const DoctorRow& r) { return !r.ok; });
  out += failed == 0 ? fmt::format("\nAll {} checks passed.\n", rows.size())
                     : fmt::format("\n{} of {} checks failed.\n", failed, rows.size());
  return out;
}

std::string fix_missing_roles(const conf::Tenant& t, const std::vector<std::string>& roles) {
  std::string list;
  for (const auto& r : roles) list += (list.empty() ? "" : ", ") + r;
  return fmt::format(
      "Entra admin center > App registrations > {} > API permissions > Add a permission > APIs my organization "
      "uses > Office 365 Exchange Online > Application permissions: {}; then Grant admin consent for tenant {}",
      t.client_id, list, t.tenant_id);
}

std::string fix_mailbox_access(const conf::Tenant& t, const std::string& mailbox, std::string_view role) {
  return fmt::format(
      "Office 365 refused the app for this mailbox although the token has {}. In Exchange Online PowerShell: "
      "register the service principal once per tenant with "
      "New-ServicePrincipal -AppId {} -ObjectId <object ID of the Enterprise application, not of the app "
      "registration>, then grant the mailbox: Add-MailboxPermission -Identity {} -User {} -AccessRights FullAccess",
      role, t.client_id, mailbox, t.client_id);
}

std::string fix_smtp_auth_disabled(const std::string& mailbox) {
  return fmt::format(
      "SMTP AUTH is disabled (security defaults turn it off, and it blocks OAuth too). In Exchange Online "
      "PowerShell: Set-CASMailbox -Identity {} -SmtpClientAuthenticationDisabled $false (for the whole "
      "organisation: Set-TransportConfig -SmtpClientAuthenticationDisabled $false)",
      mailbox);
}

std::string fix_send_as(const conf::Tenant& t, const std::string& sender) {
  return fmt::format("the app may not send as {}. In Exchange Online PowerShell: Add-RecipientPermission -Identity {} "
                     "-Trustee {} -AccessRights SendAs (or remove the address from the user's senders)",
                     sender, sender, t.client_id);
}

std::string fix_unreachable(const conf::Endpoint& ep) {
  return fmt::format("the relay cannot reach {}:{}; check DNS, the firewall and any TLS-intercepting proxy between "
                     "the relay and Office 365",
                     ep.host, ep.port);
}

}  // namespace xr::relay
