#include "relay/doctor_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>

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

namespace {

// The ID Add-MailboxPermission -User and New-ServicePrincipal -ObjectId take,
// and a note saying which object it is: the admin sees two "Object ID"s in
// the portal and the wrong one makes the login fail.
std::string sp_id(std::string_view oid) {
  return oid.empty() ? std::string("<Enterprise application's Object ID>") : std::string(oid);
}

std::string sp_note(const conf::Tenant& t, std::string_view oid) {
  const std::string where = fmt::format(
      "the Object ID on Entra admin center > Enterprise applications > the app with Application ID {} > Overview",
      t.client_id);
  if (!oid.empty())
    return fmt::format("{} is the service principal's object ID, read from the token: {}; the app registration's "
                       "Object ID differs and makes the login fail",
                       oid, where);
  return fmt::format("the service principal's object ID is {}; the app registration's Object ID differs and makes "
                     "the login fail",
                     where);
}

bool icontains(std::string_view hay, std::string_view needle) {
  auto low = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end(),
                     [&](char a, char b) { return low(a) == low(b); }) != hay.end();
}

}  // namespace

std::string fix_mailbox_access(const conf::Tenant& t, const std::string& mailbox, std::string_view role,
                               std::string_view sp_object_id) {
  return fmt::format(
      "Office 365 refused the app for this mailbox although the token has {}. In Exchange Online PowerShell: "
      "register the service principal once per tenant with New-ServicePrincipal -AppId {} -ObjectId {}, then grant "
      "the mailbox: Add-MailboxPermission -Identity {} -User {} -AccessRights FullAccess ({})",
      role, t.client_id, sp_id(sp_object_id), mailbox, sp_id(sp_object_id), sp_note(t, sp_object_id));
}

std::string fix_full_access(const conf::Tenant& t, const std::string& mailbox, std::string_view sp_object_id) {
  return fmt::format(
      "Exchange accepted the login but will not open the mailbox: the app's service principal has no FullAccess "
      "on {} (or the token is for another app). In Exchange Online PowerShell: Add-MailboxPermission -Identity {} "
      "-User {} -AccessRights FullAccess ({}); if the service principal was never registered: New-ServicePrincipal "
      "-AppId {} -ObjectId {}. Changes can take a while to apply",
      mailbox, mailbox, sp_id(sp_object_id), sp_note(t, sp_object_id), t.client_id, sp_id(sp_object_id));
}

std::string fix_smtp_auth_disabled(const std::string& mailbox) {
  return fmt::format(
      "SMTP AUTH is disabled (security defaults turn it off, and it blocks OAuth too). In Exchange Online "
      "PowerShell: Set-CASMailbox -Identity {} -SmtpClientAuthenticationDisabled $false (for the whole "
      "organisation: Set-TransportConfig -SmtpClientAuthenticationDisabled $false)",
      mailbox);
}

std::string fix_send_as(const conf::Tenant& t, const std::string& sender, std::string_view sp_object_id) {
  return fmt::format("the app may not send as {}. In Exchange Online PowerShell: Add-RecipientPermission -Identity {} "
                     "-Trustee {} -AccessRights SendAs ({}), or remove the address from the user's senders",
                     sender, sender, sp_id(sp_object_id), sp_note(t, sp_object_id));
}

std::string fix_unreachable(const conf::Endpoint& ep) {
  return fmt::format("the relay cannot reach {}:{}; check DNS, the firewall and any TLS-intercepting proxy between "
                     "the relay and Office 365",
                     ep.host, ep.port);
}

std::string fix_proxy(const conf::Tenant& t, const conf::EgressProxy& proxy, const conf::Endpoint& ep, int status) {
  const std::string target = fmt::format("{}:{}", ep.host, ep.port);
  // 401: some proxies (tinyproxy) answer wrong credentials so instead of 407.
  if (status == 407 || status == 401) {
    if (proxy.credentials.empty())
      return fmt::format("the proxy {} wants a user name and password: put user:password in a file readable only by "
                         "the relay and set tenants.{}.proxy_auth_file to it",
                         proxy.url, t.name);
    return fmt::format("the proxy {} did not accept the user name and password in {}: check them with the proxy's "
                       "administrator",
                       proxy.url, proxy.auth_file.value_or("tenants." + t.name + ".proxy_auth_file"));
  }
  if (status == 502 || status == 503 || status == 504)
    return fmt::format("the proxy {} could not reach {} itself: check the proxy's DNS and its own outbound firewall",
                       proxy.url, target);
  if (status != 0)
    return fmt::format("the proxy {} does not allow CONNECT to {}: allow port {} for this relay in the proxy's rules "
                       "(squid: http_access and the SSL_ports ACL; tinyproxy: ConnectPort {}), or reach {} directly by "
                       "adding it to tenants.{}.no_proxy",
                       proxy.url, target, ep.port, ep.port, ep.host, t.name);
  return fmt::format("the relay cannot reach its outbound proxy {} (from {}): check that the proxy runs and listens "
                     "there, the address in {}, and the firewall between the relay and the proxy",
                     proxy.url, proxy.origin, proxy.origin);
}

std::string fix_tls_verification(const conf::Tenant& t, std::string_view peer) {
  const std::string key = "tenants." + t.name + ".ca_file";
  const std::string current =
      t.ca_file ? fmt::format(" ({} is now {}, which does not hold the CA that signed it)", key, *t.ca_file) : "";
  return fmt::format("the relay reached {} but could not verify its TLS certificate. Usually a TLS-inspecting proxy "
                     "between the relay and Office 365 presents its own certificate: put that proxy's CA certificate "
                     "(PEM) in a file and set {} to it{}, or have the proxy leave the Microsoft hosts uninspected",
                     peer, key, current);
}

std::string fix_token_not_found(const conf::Tenant& t) {
  const std::string key = "tenants." + t.name + ".authority";
  const std::string origin = authority_origin(t.authority);
  std::string a = t.authority;
  while (!a.empty() && a.back() == '/') a.pop_back();
  if (a != origin)
    return fmt::format("{} is {}, but authority must be a bare origin: the relay adds /{}/oauth2/v2.0/token itself. "
                       "Set {}: {}",
                       key, t.authority, t.tenant_id, key, origin);
  return fmt::format("there is no token endpoint at {}: check {} (the cloud's sign-in origin, e.g. "
                     "https://login.microsoftonline.com) and tenant_id, and any proxy that answers in Entra ID's "
                     "place",
                     t.token_url(), key);
}

bool is_certificate_failure(std::string_view detail) {
  // OpenSSL: "certificate verify failed", "(certificate: unable to get local
  // issuer certificate)"; curl: "SSL certificate problem: ...", "no
  // alternative certificate subject name matches target host name".
  return icontains(detail, "certificate");
}

std::string authority_origin(std::string_view authority) {
  auto scheme = authority.find("://");
  auto host_at = scheme == std::string_view::npos ? 0 : scheme + 3;
  auto path = authority.find_first_of("/?#", host_at);
  return std::string(authority.substr(0, path));
}

}  // namespace xr::relay
