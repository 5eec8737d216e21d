// Internal to conf/: the section loaders load_config runs in turn. Each reads
// its part of the YAML into Config and reports problems to Diagnostics.
#pragma once

#include "conf/config.hpp"
#include "conf/diagnostics.hpp"
#include "conf/files.hpp"
#include "conf/pem_check.hpp"
#include "conf/yaml_reader.hpp"

#include <chrono>
#include <set>
#include <string>

namespace xr::conf {

struct LoadContext {
  Diagnostics& diag;
  std::string base_dir;  // the config file's directory: relative paths start here
  // Every tenant name written under `tenants:`, valid or not, so a broken
  // tenant does not also produce "unknown tenant" errors for its users.
  std::set<std::string> tenant_names;
  // Load and match certificate/key files (conf/pem_check.hpp), as `run` does.
  bool check_pem_contents = false;
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
};

void load_server(LoadContext& ctx, const Entry& e, Config& cfg);
void load_log(LoadContext& ctx, const Entry& e, Config& cfg);
void load_limits(LoadContext& ctx, const Entry& e, Limits& limits);
void load_trusted_networks(LoadContext& ctx, const Entry& e, Config& cfg);
void load_tenants(LoadContext& ctx, const Entry& e, Config& cfg);
void load_listeners(LoadContext& ctx, const Entry& e, Config& cfg);
void load_admin(LoadContext& ctx, const Entry& e, Config& cfg);
void load_users(LoadContext& ctx, const Entry& e, Config& cfg);
void load_no_auth(LoadContext& ctx, const Entry& e, Config& cfg);
// `spool:`; a null value means every default.
void load_spool(LoadContext& ctx, const Entry& e, Config& cfg);

// Shared field readers (conf/load_fields.cpp).

// A path resolved against the config's directory (after expanding
// ${CREDENTIALS_DIRECTORY}), absolute; not checked.
std::optional<std::string> read_path(LoadContext& ctx, const Entry& e);
// The same, and a regular file the relay may read; FileUse::private_ (keys)
// also refuses a file open to group or others, with the chmod that fixes it.
std::optional<std::string> read_file_path(LoadContext& ctx, const Entry& e, FileUse use = FileUse::plain);
// cert_file + key_file (a listener's, or a tenant's certificate): both
// readable, the key private, and with ctx.check_pem_contents their contents
// loaded and matched; errors and warnings at the key they concern. A path is
// returned only when it passed.
struct CertAndKey {
  std::optional<std::string> cert_file, key_file;
};
CertAndKey read_cert_and_key(LoadContext& ctx, const std::optional<Entry>& cert, const std::optional<Entry>& key,
                             PemUse use);
// A tenant name that exists under `tenants:`.
std::optional<std::string> read_tenant_ref(LoadContext& ctx, const Entry& e);
std::optional<std::string> read_mailbox(LoadContext& ctx, const Entry& e);
// `senders:` — absent means {mailbox}.
std::vector<std::string> read_senders(LoadContext& ctx, const std::optional<Entry>& e, const std::string& mailbox);
// `rewrite_sender:` — true/false, or {from_header: bool, reply_to: bool}.
SenderRewrite read_rewrite_sender(LoadContext& ctx, const Entry& e);
// `sources:` — a non-empty list of networks.
std::vector<Cidr> read_sources(LoadContext& ctx, const Entry& e);
// `delivery:` — direct | spool.
std::optional<Delivery> read_delivery(LoadContext& ctx, const Entry& e);
// A tenant's `proxy:`, `proxy_auth_file:` and `no_proxy:`, or HTTPS_PROXY and
// NO_PROXY from the environment (conf/load_proxy.cpp).
void read_tenant_proxy(LoadContext& ctx, const MapReader& m, Tenant& t);
// A tenant's `provider:` (microsoft when absent), then for google its
// `service_account_file` (parsed, the key loaded as RSA), `scope` and
// Google's smtp/imap/pop3 defaults, refusing Microsoft's keys
// (conf/load_google.cpp).
void read_provider(LoadContext& ctx, const MapReader& tenant, Tenant& t);
void read_google(LoadContext& ctx, const MapReader& tenant, Tenant& t);
// A tenant's `smtp: {via: ...}` (the entry read_endpoint found, if any) and
// `graph:` block; after the provider is known (conf/load_graph.cpp).
void read_graph(LoadContext& ctx, const MapReader& tenant, const std::optional<Entry>& via, Tenant& t);

}  // namespace xr::conf
