// The text `xoauth2-relay init` produces: the commented relay.yaml and the
// tenant's Exchange Online PowerShell, plus the checks on what the admin
// typed. Pure functions (no files, no terminal, no Asio), so every rule is
// unit-tested; relay/cli/init_command.cpp does the I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace xr::relay::cli {

// Everything the generated config holds. Paths are written as given: the
// secret, certificate and key relative to the config's directory, ca_file
// absolute.
struct InitValues {
  std::string tenant_name = "contoso";  // the key under `tenants:`
  std::string tenant_id;
  std::string client_id;
  std::string secret_file = "secrets/contoso.secret";
  std::string user;
  std::string password_hash;
  std::string mailbox;
  std::string listen = "0.0.0.0:587";
  std::string cert_file = "tls/relay.crt";
  std::string key_file = "tls/relay.key";
  bool self_signed = true;  // init made cert_file/key_file (the comment says so)
  std::string authority = "https://login.microsoftonline.com";
  std::string smtp_host = "smtp.office365.com";
  std::uint16_t smtp_port = 587;
  std::optional<std::string> ca_file;
  std::string config_path;  // for the comments ("check-config --config ...")
};

// A YAML double-quoted scalar holding exactly `text`: quotes, backslashes
// and control characters escaped, so colons, '#', '$' and leading spaces
// mean nothing to the parser.
std::string yaml_quote(std::string_view text);
// A mapping key or name: plain when it can only be read as that string
// (scanner01, contoso), else yaml_quote'd ("true", "dev:1", "a b").
std::string yaml_key(std::string_view text);

// relay.yaml with a comment over every key saying what it is and where in
// the Entra admin center the value comes from.
std::string render_config(const InitValues& v);

// The Entra steps and the Exchange Online PowerShell, every ID filled in
// except the Enterprise application's object ID, which only the portal (or
// Get-MgServicePrincipal) knows: the script says where to find it.
std::string render_powershell(const InitValues& v);

// --- checks on what the admin typed; each returns why not, or nullopt ---

std::optional<std::string> check_tenant_id(std::string_view v);  // GUID or verified domain
std::optional<std::string> check_client_id(std::string_view v);  // GUID
std::optional<std::string> check_mailbox(std::string_view v);
std::optional<std::string> check_listen(std::string_view v);
std::optional<std::string> check_authority(std::string_view v);  // https://host, no path
std::optional<std::string> check_user_name(std::string_view v);
// The key under `tenants:`; also names the secret file, so no '/'.
std::optional<std::string> check_tenant_name(std::string_view v);
// A client secret value: not empty, one line. (Looking like a GUID is a
// warning, see secret_warning.)
std::optional<std::string> check_secret(std::string_view v);
// A warning for a secret that is probably the Secret ID, or has stray spaces.
std::optional<std::string> secret_warning(std::string_view v);

bool is_guid(std::string_view v);

// "host" or "host:port" (port defaults to 587); "[v6]:port" too.
struct HostPort {
  std::string host;
  std::uint16_t port = 587;
};
std::optional<HostPort> parse_host_port(std::string_view text, std::string* why);

// The `tenants:` key: the first label of the mailbox's domain (contoso for
// scanner@contoso.com), lower case, letters, digits, '-' and '_' only;
// "office365" when nothing usable is left.
std::string tenant_name_for(std::string_view mailbox);

}  // namespace xr::relay::cli
