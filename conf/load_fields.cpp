// Field readers shared by several sections: files, tenant references,
// addresses and networks.
#include "conf/files.hpp"
#include "conf/loader.hpp"
#include "conf/mail_address.hpp"
#include "conf/suggest.hpp"

#include <algorithm>

#include <cstdlib>
#include <string_view>

namespace xr::conf {

std::optional<std::string> read_path(LoadContext& ctx, const Entry& e) {
  auto text = read_string(ctx.diag, e);
  if (!text) return std::nullopt;
  // systemd's LoadCredential= puts secrets in a per-start directory whose
  // path only the service knows: the config names it by variable.
  static constexpr std::string_view kCredentials = "${CREDENTIALS_DIRECTORY}";
  if (auto at = text->find(kCredentials); at != std::string::npos) {
    const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
    if (!dir || !*dir) {
      ctx.diag.add(e.mark(), e.path,
                   "${CREDENTIALS_DIRECTORY} is set only when systemd starts the relay with LoadCredential=; run "
                   "this check through the service (systemctl reload, or ExecStartPre=) or name the file directly");
      return std::nullopt;
    }
    text->replace(at, kCredentials.size(), dir);
  }
  return resolve_path(ctx.base_dir, *text);
}

std::optional<std::string> read_file_path(LoadContext& ctx, const Entry& e, FileUse use) {
  auto path = read_path(ctx, e);
  if (!path) return std::nullopt;
  if (auto err = check_readable(*path, use)) {
    // A mode problem already says its fix; the hint is for the others.
    bool says_fix = err->find("; run: chmod") != std::string::npos;
    ctx.diag.add(e.mark(), e.path,
                 says_fix ? *err
                          : *err + "; check the path (relative paths start at the config file's directory) "
                                   "and that the relay's user may read it");
    return std::nullopt;
  }
  return path;
}

CertAndKey read_cert_and_key(LoadContext& ctx, const std::optional<Entry>& cert, const std::optional<Entry>& key,
                             PemUse use) {
  CertAndKey out;
  if (!ctx.check_pem_contents) {
    if (cert) out.cert_file = read_file_path(ctx, *cert);
    if (key) out.key_file = read_file_path(ctx, *key, FileUse::private_);
    return out;
  }
  // The key's mode is judged after its contents: swapped files put the
  // certificate (often 0644) under key_file, and "chmod 600" would be the
  // wrong fix to print.
  if (cert) out.cert_file = read_file_path(ctx, *cert);
  if (key) out.key_file = read_file_path(ctx, *key);
  if (!out.cert_file || !out.key_file) {
    if (out.key_file)
      if (auto err = check_readable(*out.key_file, FileUse::private_)) {
        ctx.diag.add(key->mark(), key->path, *err);
        out.key_file.reset();
      }
    return out;
  }
  auto findings = check_cert_and_key(*out.cert_file, *out.key_file, use, ctx.now);
  bool failed = false;
  for (const auto& f : findings) {
    if (f.swapped) {
      ctx.diag.add(cert->mark(), cert->path, f.message);
      return {};
    }
  }
  if (auto err = check_readable(*out.key_file, FileUse::private_)) {
    ctx.diag.add(key->mark(), key->path, *err);
    failed = true;
  }
  for (const auto& f : findings) {
    const Entry& at = f.field == PemFinding::Field::cert_file ? *cert : *key;
    if (f.error) {
      ctx.diag.add(at.mark(), at.path, f.message);
      failed = true;
    } else {
      ctx.diag.warn(at.mark(), at.path, f.message);
    }
  }
  if (failed) return {};
  return out;
}

std::optional<std::string> read_tenant_ref(LoadContext& ctx, const Entry& e) {
  auto name = read_string(ctx.diag, e);
  if (!name) return std::nullopt;
  if (ctx.tenant_names.count(*name)) return name;
  if (ctx.tenant_names.empty()) {
    ctx.diag.add(e.mark(), e.path, "unknown tenant `" + *name + "`: no tenants are defined; add it under `tenants:`");
    return std::nullopt;
  }
  std::vector<std::string> known(ctx.tenant_names.begin(), ctx.tenant_names.end());
  std::string list;
  for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
  ctx.diag.add(e.mark(), e.path,
               "unknown tenant `" + *name + "`" + did_you_mean(*name, known) + "; known tenants: " + list);
  return std::nullopt;
}

std::optional<std::string> read_mailbox(LoadContext& ctx, const Entry& e) {
  auto text = read_string(ctx.diag, e);
  if (!text) return std::nullopt;
  std::string why;
  if (!is_mailbox(*text, &why)) {
    ctx.diag.add(e.mark(), e.path, "`" + *text + "` is not a mailbox address: " + why);
    return std::nullopt;
  }
  return text;
}

std::vector<std::string> read_senders(LoadContext& ctx, const std::optional<Entry>& e, const std::string& mailbox) {
  if (!e) return {mailbox};
  std::vector<std::string> out;
  auto items = read_list(ctx.diag, *e, "[\"scanner@contoso.com\", \"*@contoso.com\"]");
  if (!items) return out;
  if (items->empty()) {
    ctx.diag.add(e->mark(), e->path, "an empty list allows no sender at all; omit `senders` to allow the mailbox");
  }
  for (const auto& item : *items) {
    auto text = read_string(ctx.diag, item);
    if (!text) continue;
    std::string why;
    if (!is_sender_pattern(*text, &why)) {
      ctx.diag.add(item.mark(), item.path, "`" + *text + "` is not a sender address or \"*@domain\": " + why);
      continue;
    }
    if (std::find(out.begin(), out.end(), *text) == out.end()) out.push_back(*text);
  }
  return out;
}

SenderRewrite read_rewrite_sender(LoadContext& ctx, const Entry& e) {
  SenderRewrite r;
  if (!e.value.IsMap()) {
    if (auto on = read_bool(ctx.diag, e)) r.envelope = *on;
    return r;
  }
  MapReader m(ctx.diag, e, {"from_header", "reply_to"});
  r.envelope = true;  // the map form turns rewriting on and says how far it goes
  if (auto f = m.get("from_header"))
    if (auto v = read_bool(ctx.diag, *f)) r.from_header = *v;
  if (auto f = m.get("reply_to")) {
    if (auto v = read_bool(ctx.diag, *f)) r.reply_to = *v;
    if (r.reply_to && !r.from_header)
      ctx.diag.add(f->key_mark, f->path, "reply_to keeps the From: that from_header replaces; add from_header: true");
  }
  return r;
}

std::vector<Cidr> read_sources(LoadContext& ctx, const Entry& e) {
  std::vector<Cidr> out;
  auto items = read_list(ctx.diag, e, "[\"192.168.10.0/24\", \"fd00:10::/64\"]");
  if (!items) return out;
  if (items->empty()) {
    ctx.diag.add(e.mark(), e.path, "an empty list is not allowed; list networks such as \"192.168.10.0/24\"");
  }
  for (const auto& item : *items) {
    auto text = read_string(ctx.diag, item);
    if (!text) continue;
    std::string why;
    auto cidr = Cidr::parse(*text, &why);
    if (!cidr) {
      ctx.diag.add(item.mark(), item.path, "`" + *text + "`: " + why);
      continue;
    }
    out.push_back(*cidr);
  }
  return out;
}

std::optional<Delivery> read_delivery(LoadContext& ctx, const Entry& e) {
  return read_enum<Delivery>(ctx.diag, e, {{"direct", Delivery::direct}, {"spool", Delivery::spool}});
}

}  // namespace xr::conf
