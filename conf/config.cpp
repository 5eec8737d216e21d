// load_config: YAML text -> Config, or every error found.
#include "conf/config.hpp"

#include "conf/files.hpp"
#include "conf/loader.hpp"
#include "conf/yaml_layout.hpp"

#include <unistd.h>

#include <exception>
#include <filesystem>

namespace xr::conf {
namespace {

std::string system_hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

std::string absolute_path(const std::string& path) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec);
  return (ec ? std::filesystem::path(path) : abs).lexically_normal().string();
}

bool uses_spool(const Config& cfg) {
  for (const auto& [name, u] : cfg.users)
    if (u.delivery == Delivery::spool) return true;
  for (const auto& r : cfg.no_auth)
    if (r.delivery == Delivery::spool) return true;
  return false;
}

void load_document(LoadContext& ctx, const YAML::Node& root, Config& cfg) {
  if (root.IsNull()) {
    ctx.diag.add(YAML::Mark::null_mark(), "",
                 "the file has no settings (it is empty or only comments); run `xoauth2-relay init`, or start "
                 "from relay.example.yaml (installed in /usr/share/doc/xoauth2-relay/examples/relay.yaml)");
    return;
  }
  Entry top{root, YAML::Mark{}, ""};
  MapReader m(ctx.diag, top, {"server", "log", "tenants", "listeners", "admin", "users", "no_auth", "limits",
                             "spool", "trusted_networks"});
  if (!m.is_map()) return;
  if (auto e = m.get("server")) load_server(ctx, *e, cfg);
  if (auto e = m.get("log")) load_log(ctx, *e, cfg);
  // Tenants first: users and no_auth rules refer to them by name.
  auto tenants = m.get("tenants");
  if (tenants) load_tenants(ctx, *tenants, cfg);
  if (auto e = m.require("listeners", "add at least one, e.g. listeners: [{protocol: smtp, listen: \"0.0.0.0:587\", "
                                      "tls: starttls, cert_file: ..., key_file: ...}]"))
    load_listeners(ctx, *e, cfg);
  if (auto e = m.get("admin")) load_admin(ctx, *e, cfg);
  if (auto e = m.get("users")) load_users(ctx, *e, cfg);
  if (auto e = m.get("no_auth")) load_no_auth(ctx, *e, cfg);
  if (auto e = m.get("limits")) load_limits(ctx, *e, cfg.limits);
  if (auto e = m.get("trusted_networks")) load_trusted_networks(ctx, *e, cfg);
  if (auto e = m.get("spool")) load_spool(ctx, *e, cfg);
  // `delivery: spool` needs a spool even when the admin wrote no section:
  // the defaults then apply (/var/spool/xoauth2-relay, 2G, ...).
  if (!cfg.spool && uses_spool(cfg)) cfg.spool = Spool{};
  // Without a tenant no device can reach Office 365: such a relay would only
  // refuse logins, so it must not start (the Debian package's skeleton config
  // relies on this). Said only when nothing else is wrong: a user or no_auth
  // rule naming a tenant has already said "no tenants are defined".
  if (ctx.tenant_names.empty() && ctx.diag.empty())
    ctx.diag.add(tenants ? tenants->mark() : YAML::Mark::null_mark(), "tenants",
                 "no tenant is configured: add one under `tenants:` (tenant_id, client_id and one credential, "
                 "see relay.example.yaml), or run `xoauth2-relay init`");
}

}  // namespace

LoadResult load_config_from_string(const std::string& yaml, const std::string& path, bool check_pem_contents) {
  LoadResult result;
  std::string abs = absolute_path(path);
  Diagnostics diag(abs);
  try {
    Config cfg;
    cfg.source_path = abs;
    LoadContext ctx{diag, std::filesystem::path(abs).parent_path().string(), {}};
    ctx.check_pem_contents = check_pem_contents;
    YAML::Node root;
    try {
      root = YAML::Load(yaml);
    } catch (const YAML::Exception& e) {
      // yaml-cpp's words ("end of map not found") rarely name the cause: a
      // tab or a key between two indentation levels, at or before its mark.
      const int error_line = e.mark.is_null() || e.mark.line < 0 ? 0 : e.mark.line + 1;
      auto p = find_layout_problem(yaml, error_line);
      // A deeper line is also how a plain scalar continues: only blame it
      // where yaml-cpp itself stopped.
      if (p && p->kind == LayoutProblem::Kind::overindent && p->line != error_line) p.reset();
      if (p) {
        YAML::Mark at;
        at.line = p->line - 1;
        at.column = p->column - 1;
        diag.add(at, "", p->message);
      } else {
        // e.msg alone: what() repeats the position in yaml-cpp's own words.
        diag.add(e.mark, "", "invalid YAML: " + e.msg + " (check indentation, quotes and brackets near here)");
      }
    }
    if (diag.empty()) {
      load_document(ctx, root, cfg);
      diag.explain_stray_keys();
    }
    if (cfg.hostname.empty()) cfg.hostname = system_hostname();
    if (diag.empty()) result.config = std::move(cfg);
  } catch (const std::exception& e) {
    // A bug or out-of-memory: still an error value, as promised, but never
    // with YAML contents that might include a secret.
    diag.add_unplaced("", std::string("internal error while loading the configuration: ") + e.what());
    result.config.reset();
  } catch (...) {
    diag.add_unplaced("", "internal error while loading the configuration");
    result.config.reset();
  }
  result.errors = diag.take_sorted();
  result.warnings = diag.take_warnings_sorted();
  return result;
}

LoadResult load_config(const std::string& path) {
  auto unreadable = [&](const std::string& why) {
    LoadResult r;
    Diagnostics diag(absolute_path(path));
    diag.add_unplaced("", "cannot read the configuration file: " + why);
    r.errors = diag.take_sorted();
    return r;
  };
  try {
    // read_text_file names a missing file, a permission problem, a
    // directory or a FIFO precisely (ifstream would only say "failed", or
    // wait forever on a FIFO), and reads the very file it checked.
    std::string text;
    if (auto err = read_text_file(path, text, 16u << 20)) return unreadable(*err);
    return load_config_from_string(text, path, /*check_pem_contents=*/true);
  } catch (const std::exception& e) {
    return unreadable(e.what());
  }
}

}  // namespace xr::conf
