// `xoauth2-relay init`: from nothing to a config that passes check-config,
// and the tenant's PowerShell to run. Asks for what is missing at a terminal,
// or takes everything from flags (--non-interactive; also whenever stdin is
// not a terminal). Writes the config, the client secret (0600) and, unless
// given, a self-signed listener certificate and key (0600) beside it; never
// overwrites a file without --force. No Asio here.
#pragma once

#include <iosfwd>
#include <string>

namespace xr::relay::cli {

struct InitOptions {
  std::string config_path = "/etc/xoauth2-relay/relay.yaml";
  std::string tenant_id;
  std::string client_id;
  std::string client_secret_file;  // read; its value is copied beside the config
  std::string tenant_name;         // key under tenants:; default from the mailbox's domain
  std::string user;
  bool password_stdin = false;
  std::string mailbox;
  std::string listen;  // default 0.0.0.0:587
  std::string cert_file, key_file;  // an existing listener certificate instead of a new one
  std::string authority;  // default https://login.microsoftonline.com
  std::string smtp_host;  // default smtp.office365.com:587
  std::string ca_file;
  bool non_interactive = false;
  bool force = false;  // replace existing files
};

// Runs it; 0 on success, 1 on an error (said on `err`), 2 for a missing or
// invalid flag in non-interactive mode. `in` is stdin (prompts and
// --password-stdin read it); prompts and warnings go to `err`, the result
// and the PowerShell to `out`. Secrets are never written to either.
int run_init(const InitOptions& opts, std::istream& in, std::ostream& out, std::ostream& err);

// The subcommand and its flags, for relay/main.cpp (which has CLI11; a
// template so this header needs no CLI11 include).
template <class App>
App* add_init_command(App& app, InitOptions& o) {
  auto* c = app.add_subcommand(
      "init", "Write a first configuration and print the tenant's Exchange PowerShell; asks for missing values at "
              "a terminal, else (or with --non-interactive) takes them all from flags");
  c->add_option("-c,--config", o.config_path, "Where to write the configuration")->capture_default_str();
  c->add_option("--tenant-id", o.tenant_id, "Directory (tenant) ID, or a verified domain");
  c->add_option("--client-id", o.client_id, "Application (client) ID of the app registration");
  c->add_option("--client-secret-file", o.client_secret_file,
                "A file holding the client secret's Value; copied into a 0600 file beside the config");
  c->add_option("--tenant-name", o.tenant_name, "The tenant's name in the config (default: from the mailbox's domain)");
  c->add_option("--user", o.user, "The first device's login name");
  c->add_flag("--password-stdin", o.password_stdin, "Read that device's password from the first line of stdin (without a terminal)");
  c->add_option("--mailbox", o.mailbox, "The Office 365 mailbox the device sends as");
  c->add_option("--listen", o.listen, "The STARTTLS SMTP listener's IP:PORT (default 0.0.0.0:587)");
  c->add_option("--cert-file", o.cert_file, "The listener's certificate (default: a new self-signed one)");
  c->add_option("--key-file", o.key_file, "Its private key (with --cert-file)");
  c->add_option("--authority", o.authority, "Token authority for national clouds (default https://login.microsoftonline.com)");
  c->add_option("--smtp-host", o.smtp_host, "Exchange SMTP HOST:PORT (default smtp.office365.com:587)");
  c->add_option("--ca-file", o.ca_file, "Extra CA (PEM) for the authority and Exchange (TLS-inspecting proxy)");
  c->add_flag("--non-interactive", o.non_interactive, "Never ask: every value from flags; a missing one is an error");
  c->add_flag("--force", o.force, "Replace the files init writes if they exist");
  return c;
}

}  // namespace xr::relay::cli
