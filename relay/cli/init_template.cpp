#include "relay/cli/init_template.hpp"

#include "conf/listen_address.hpp"
#include "conf/mail_address.hpp"

#include <cctype>
#include <charconv>
#include <cstdio>

namespace xr::relay::cli {
namespace {

bool is_domain(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.' || s.find('.') == std::string_view::npos) return false;
  if (s.find("..") != std::string_view::npos) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') return false;
  return true;
}

// PowerShell single-quoted string: nothing inside is expanded ($, `), and
// a quote is written twice.
std::string ps_quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

// The host of an https:// URL ("login.microsoftonline.us").
std::string_view url_host(std::string_view url) {
  constexpr std::string_view scheme = "https://";
  if (url.substr(0, scheme.size()) == scheme) url.remove_prefix(scheme.size());
  return url.substr(0, url.find_first_of(":/"));
}

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

// Connect-ExchangeOnline's -ExchangeEnvironmentName for a national cloud's
// token authority; empty for the global cloud.
std::string exchange_environment(std::string_view authority) {
  std::string_view host = url_host(authority);
  if (ends_with(host, ".us")) return "O365USGovGCCHigh";
  if (ends_with(host, ".cn")) return "O365China";
  return {};
}

}  // namespace

std::string yaml_quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\x%02x", unsigned(u));
      out += esc;
    } else {
      out += c;  // UTF-8 bytes pass through: YAML is UTF-8
    }
  }
  return out + "\"";
}

std::string yaml_key(std::string_view text) {
  bool plain = !text.empty() && std::isalpha(static_cast<unsigned char>(text.front()));
  for (char c : text)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') plain = false;
  // YAML 1.1 booleans and nulls, in any case, would not read back as the name.
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* word : {"true", "false", "yes", "no", "on", "off", "y", "n", "null"})
    if (lower == word) plain = false;
  return plain ? std::string(text) : yaml_quote(text);
}

bool is_guid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

std::optional<std::string> check_tenant_id(std::string_view v) {
  if (is_guid(v) || is_domain(v)) return std::nullopt;
  return "`" + std::string(v) + "` is neither a GUID nor a domain: copy the Directory (tenant) ID from the Entra admin "
         "center's Overview page (or use a verified domain such as contoso.onmicrosoft.com)";
}

std::optional<std::string> check_client_id(std::string_view v) {
  if (is_guid(v)) return std::nullopt;
  return "`" + std::string(v) + "` is not a GUID: copy the Application (client) ID from the app registration's "
         "Overview page";
}

std::optional<std::string> check_mailbox(std::string_view v) {
  std::string why;
  if (conf::is_mailbox(v, &why)) return std::nullopt;
  return "`" + std::string(v) + "`: " + why;
}

std::optional<std::string> check_listen(std::string_view v) {
  std::string why;
  if (conf::parse_listen_address(v, &why)) return std::nullopt;
  return "`" + std::string(v) + "`: " + why;
}

std::optional<std::string> check_authority(std::string_view v) {
  constexpr std::string_view scheme = "https://";
  std::string_view rest = v.substr(0, scheme.size()) == scheme ? v.substr(scheme.size()) : std::string_view{};
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  bool bare = !rest.empty() && rest.find_first_of("/?# \t") == std::string_view::npos;
  if (bare) return std::nullopt;
  return "`" + std::string(v) + "`: write the token authority's origin only, https://HOST (e.g. "
         "https://login.microsoftonline.us); the tenant ID and /oauth2/v2.0/token are added by the relay";
}

std::optional<std::string> check_user_name(std::string_view v) {
  if (v.empty()) return "the device's login name is empty";
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return "the login name must not contain spaces or control characters";
  }
  return std::nullopt;
}

std::optional<std::string> check_tenant_name(std::string_view v) {
  bool ok = !v.empty() && v.front() != '.';
  for (char c : v)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') ok = false;
  if (ok) return std::nullopt;
  return "`" + std::string(v) + "`: a tenant name is letters, digits, '-', '_' and '.' (it also names the secret "
         "file), e.g. contoso";
}

std::optional<std::string> check_secret(std::string_view v) {
  if (v.empty()) return "the client secret is empty";
  if (v.find_first_of("\r\n") != std::string_view::npos)
    return "the client secret must be one line (the secret file holds the Value only)";
  return std::nullopt;
}

std::optional<std::string> secret_warning(std::string_view v) {
  if (is_guid(v))
    return "the client secret looks like a GUID: that is usually the Secret ID; the relay needs the Value column "
           "(shown only once, right after the secret is created)";
  if (v.empty()) return std::nullopt;
  if (v.front() == ' ' || v.back() == ' ' || v.front() == '\t' || v.back() == '\t')
    return "the client secret starts or ends with a space: check it was copied exactly";
  return std::nullopt;
}

std::optional<HostPort> parse_host_port(std::string_view text, std::string* why) {
  auto fail = [&](std::string msg) -> std::optional<HostPort> {
    if (why) *why = "`" + std::string(text) + "`: " + msg + "; write HOST or HOST:PORT, e.g. smtp.office365.com:587";
    return std::nullopt;
  };
  HostPort hp;
  std::string_view host = text, port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return fail("missing ']'");
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return fail("expected ':' after ']'");
      port = rest.substr(1);
      if (port.empty()) return fail("missing the port after ':'");
    }
  } else if (auto colon = text.rfind(':'); colon != std::string_view::npos) {
    if (text.find(':') != colon) return fail("an IPv6 address needs brackets");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (port.empty()) return fail("missing the port after ':'");
  }
  if (host.empty()) return fail("missing the host");
  for (char c : host) {
    auto u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && c != '.' && c != '-' && c != ':' && c != '_') return fail("not a host name or address");
  }
  if (!port.empty()) {
    unsigned p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc{} || end != port.data() + port.size() || p < 1 || p > 65535)
      return fail("the port must be a number from 1 to 65535");
    hp.port = static_cast<std::uint16_t>(p);
  }
  hp.host = std::string(host);
  return hp;
}

std::string tenant_name_for(std::string_view mailbox) {
  auto at = mailbox.rfind('@');
  std::string_view domain = at == std::string_view::npos ? std::string_view{} : mailbox.substr(at + 1);
  std::string name;
  for (char c : domain.substr(0, domain.find('.'))) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_') name += static_cast<char>(std::tolower(u));
  }
  return name.empty() ? "office365" : name;
}

std::string render_config(const InitValues& v) {
  const std::string tenant = yaml_key(v.tenant_name);
  const char* smtp_tls = v.smtp_port == 465 ? "implicit" : "starttls";
  std::string y;
  y += "# xoauth2-relay configuration, written by `xoauth2-relay init`.\n"
       "#\n"
       "# After every edit: xoauth2-relay check-config --config " + v.config_path + "\n"
       "# Then test the Office 365 side: xoauth2-relay doctor --config " + v.config_path + "\n"
       "# Every key with its default and meaning: /usr/share/doc/xoauth2-relay/examples/relay.yaml.\n"
       "# Relative paths below start at the directory of this file. Unknown keys are errors.\n"
       "# Secrets never go in this file: the client secret is in its own file (mode 0600).\n"
       "\n"
       "server:\n"
       "  # Started as root outside systemd, the relay binds its ports and then runs as\n"
       "  # this user (the systemd unit sets User= itself). Default: xoauth2-relay.\n"
       "  user: xoauth2-relay\n"
       "\n"
       "log:\n"
       "  level: info                  # error | warn | info | debug\n"
       "  format: text                 # text | json\n"
       "\n"
       "# The Office 365 tenant: an Entra ID app registration with the Exchange Online\n"
       "# application permission SMTP.SendAsApp (admin consent granted), registered in\n"
       "# Exchange as a service principal with access to the mailbox below (the\n"
       "# PowerShell that `init` printed does that).\n"
       "tenants:\n"
       "  " + tenant + ":\n"
       "    # Directory (tenant) ID: Entra admin center > Overview > Tenant ID (also on\n"
       "    # the app registration's Overview page), or a verified domain.\n"
       "    tenant_id: " + yaml_quote(v.tenant_id) + "\n"
       "    # Application (client) ID: Entra admin center > App registrations > your app > Overview.\n"
       "    client_id: " + yaml_quote(v.client_id) + "\n"
       "    # A file holding only the client secret's Value (not its Secret ID), from\n"
       "    # App registrations > your app > Certificates & secrets. Mode 0600, owned by\n"
       "    # the relay's user. Re-read on reload (SIGHUP): rotate it by rewriting the file.\n"
       "    client_secret_file: " + yaml_quote(v.secret_file) + "\n"
       "    # The secret's \"Expires\" date (Certificates & secrets): the log warns 30 days ahead.\n"
       "    # client_secret_expires: 2027-05-01\n"
       "    # Token endpoint origin: https://login.microsoftonline.com (global),\n"
       "    # https://login.microsoftonline.us (US Government), https://login.partner.microsoftonline.cn (21Vianet).\n"
       "    authority: " + yaml_quote(v.authority) + "\n"
       "    # Exchange Online's SMTP submission endpoint (always TLS; the token travels on it).\n"
       "    smtp: {host: " + yaml_quote(v.smtp_host) + ", port: " + std::to_string(v.smtp_port) +
       ", tls: " + smtp_tls + "}\n";
  if (v.ca_file) {
    y += "    # An extra CA trusted for the token endpoint and Exchange (a TLS-inspecting proxy, tests).\n"
         "    ca_file: " + yaml_quote(*v.ca_file) + "\n";
  } else {
    y += "    # An extra PEM CA for the token endpoint and Exchange, e.g. behind a TLS-inspecting proxy.\n"
         "    # ca_file: /etc/xoauth2-relay/proxy-ca.pem\n";
  }
  y += "\n"
       "# Where devices connect: SMTP, STARTTLS on a plain connection (port 587 is usual).\n"
       "listeners:\n"
       "  - protocol: smtp\n"
       "    # IP address and port; \"0.0.0.0:587\" is every IPv4 address, \"[::]:587\" every IPv6 one.\n"
       "    listen: " + yaml_quote(v.listen) + "\n"
       "    tls: starttls\n";
  if (v.self_signed) {
    y += "    # A self-signed certificate and its key, made by init. Most printers accept it;\n"
         "    # for devices that verify certificates, put one from your CA here instead.\n";
  } else {
    y += "    # The listener's certificate (PEM, full chain) and its private key.\n";
  }
  y += "    cert_file: " + yaml_quote(v.cert_file) + "\n"
       "    key_file: " + yaml_quote(v.key_file) + "\n"
       "    # Old devices that speak only TLS 1.0/1.1: min_tls_version: \"1.0\" (on a listener of their own).\n"
       "    # Devices without TLS: a second listener with tls: none and allow_plaintext_auth: true.\n"
       "\n"
       "# Monitoring (/metrics, /healthz, /readyz) on plain HTTP, loopback only by default:\n"
       "# admin:\n"
       "#   listen: \"127.0.0.1:9187\"\n"
       "\n"
       "# Devices that log in (AUTH PLAIN or LOGIN). The key is the login name.\n"
       "users:\n"
       "  " + yaml_key(v.user) + ":\n"
       "    # A yescrypt hash of the device's password; make a new one with\n"
       "    # `xoauth2-relay hash-password`. The password itself is stored nowhere.\n"
       "    password_hash: " + yaml_quote(v.password_hash) + "\n"
       "    tenant: " + tenant + "\n"
       "    # The Office 365 mailbox the relay sends as (XOAUTH2 user=); the device's MAIL FROM\n"
       "    # must be this address unless `senders` lists others.\n"
       "    mailbox: " + yaml_quote(v.mailbox) + "\n"
       "    protocols: [smtp]\n"
       "    # Only from these networks (default: any address), e.g.:\n"
       "    # sources: [\"192.168.10.0/24\"]\n";
  return y;
}

std::string render_powershell(const InitValues& v) {
  const std::string app = ps_quote(v.client_id);
  const std::string mailbox = ps_quote(v.mailbox);
  const std::string env = exchange_environment(v.authority);
  std::string p;
  p += "# Office 365 set-up for tenant " + v.tenant_id + ", application (client) ID " + v.client_id + ".\n"
       "#\n"
       "# In the Entra admin center (https://entra.microsoft.com) first:\n"
       "#  1. App registrations > All applications > " + v.client_id + " > API permissions >\n"
       "#     Add a permission > APIs my organization uses > Office 365 Exchange Online >\n"
       "#     Application permissions > SMTP.SendAsApp > Add permissions; then\n"
       "#     \"Grant admin consent for <your organization>\".\n"
       "#  2. Enterprise applications > All applications > search " + v.client_id + " >\n"
       "#     Overview > copy \"Object ID\": the service principal's object ID, below.\n"
       "#     NOT the Object ID on the App registration's Overview page: that one makes\n"
       "#     every login fail. (Also: Get-MgServicePrincipal -Filter \"appId eq '" + v.client_id + "'\")\n"
       "#\n"
       "# Then in PowerShell, signed in as an Exchange administrator:\n"
       "Install-Module -Name ExchangeOnlineManagement -Scope CurrentUser\n"
       "Import-Module ExchangeOnlineManagement\n";
  if (env.empty()) {
    p += "Connect-ExchangeOnline\n";
  } else {
    p += "# A national cloud (GCC High shown; DoD: O365USGovDoD).\n"
         "Connect-ExchangeOnline -ExchangeEnvironmentName " + env + "\n";
  }
  p += "\n"
       "# The Enterprise application's Object ID from step 2 (init cannot know it):\n"
       "$ObjectId = '<enterprise-application-object-id>'\n"
       "\n"
       "# Register the app's service principal in Exchange Online.\n"
       "New-ServicePrincipal -AppId " + app + " -ObjectId $ObjectId -DisplayName 'xoauth2-relay'\n"
       "\n"
       "# Let it use the mailbox. -User takes the service principal (its object ID, as\n"
       "# here, or the Identity Get-ServicePrincipal shows), not the client ID.\n"
       "Add-MailboxPermission -Identity " + mailbox + " -User $ObjectId -AccessRights FullAccess\n"
       "# Only to send from another address than the mailbox (a shared mailbox, a group):\n"
       "#   Add-RecipientPermission -Identity 'other@example.com' -Trustee $ObjectId -AccessRights SendAs -Confirm:$false\n"
       "\n"
       "# SMTP AUTH must be on for the mailbox (it blocks OAuth too when off). This\n"
       "# per-mailbox setting wins over the organisation's:\n"
       "Set-CASMailbox -Identity " + mailbox + " -SmtpClientAuthenticationDisabled $false\n"
       "# The organisation-wide switch (every mailbox; Entra security defaults turn it off):\n"
       "#   Get-TransportConfig | Format-List SmtpClientAuthenticationDisabled\n"
       "#   Set-TransportConfig -SmtpClientAuthenticationDisabled $false\n"
       "\n"
       "# Check what Exchange now has:\n"
       "Get-ServicePrincipal -Identity $ObjectId | Format-List AppId,ObjectId,DisplayName\n"
       "Get-MailboxPermission -Identity " + mailbox + " -User $ObjectId\n"
       "Get-CASMailbox -Identity " + mailbox + " | Format-List SmtpClientAuthenticationDisabled\n"
       "Disconnect-ExchangeOnline -Confirm:$false\n"
       "\n"
       "# Exchange takes up to 30 minutes (sometimes an hour) to apply these; until then\n"
       "# logins fail with 535 5.7.3 or 5.7.139. Outbound, the relay needs TCP 443 to\n"
       "# " + std::string(url_host(v.authority)) + " and " + std::to_string(v.smtp_port) + " to " + v.smtp_host +
       ".\n";
  return p;
}

}  // namespace xr::relay::cli
