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
// `sp_object_id`: the service principal's object ID from the token's oid
// claim (empty when unknown): Add-MailboxPermission -User and
// New-ServicePrincipal -ObjectId take it.
std::string fix_mailbox_access(const conf::Tenant& t, const std::string& mailbox, std::string_view role,
                               std::string_view sp_object_id = {});
// IMAP logged in, but EXAMINE INBOX got "BAD User is authenticated but not
// connected.": no FullAccess on the mailbox (or another app's token).
std::string fix_full_access(const conf::Tenant& t, const std::string& mailbox, std::string_view sp_object_id);
std::string fix_smtp_auth_disabled(const std::string& mailbox);
std::string fix_send_as(const conf::Tenant& t, const std::string& sender, std::string_view sp_object_id = {});
std::string fix_unreachable(const conf::Endpoint& ep);
// The outbound proxy hop failed on the way to `ep`: `status` is the proxy's
// HTTP refusal of CONNECT (403, 407, 502...), 0 when it could not be reached
// or did not answer as an HTTP proxy. Names the proxy's config key (origin)
// and the auth file, never the credentials.
std::string fix_proxy(const conf::Tenant& t, const conf::EgressProxy& proxy, const conf::Endpoint& ep, int status);
// The peer's certificate did not verify (`peer`: "the token endpoint
// https://...", "smtp.office365.com:587"): the tenant's ca_file and a
// TLS-inspecting proxy, not DNS or the firewall (the connection was made).
std::string fix_tls_verification(const conf::Tenant& t, std::string_view peer);
// The token endpoint answered 404: the URL tried, and when the authority has
// a path (the tenant ID, /oauth2/...), that it must be a bare origin.
std::string fix_token_not_found(const conf::Tenant& t);

// Whether a connection or HTTP failure text is a certificate verification
// failure (OpenSSL's and curl's wording).
bool is_certificate_failure(std::string_view detail);
// "https://host[:port]" of an authority URL: what it should be when it holds
// a path.
std::string authority_origin(std::string_view authority);

}  // namespace xr::relay
