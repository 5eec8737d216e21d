// `users:` and `no_auth:` — who may relay, as whom, from where.
#include "auth/password.hpp"
#include "conf/loader.hpp"

#include <algorithm>

namespace xr::conf {
namespace {

std::vector<Protocol> read_protocols(LoadContext& ctx, const Entry& e) {
  std::vector<Protocol> out;
  auto items = read_list(ctx.diag, e, "[smtp, imap, pop3]");
  if (!items) return out;
  if (items->empty()) {
    ctx.diag.add(e.mark(), e.path, "an empty list allows no protocol; omit `protocols` to allow all");
  }
  for (const auto& item : *items) {
    auto p = read_enum<Protocol>(ctx.diag, item,
                                 {{"smtp", Protocol::smtp}, {"imap", Protocol::imap}, {"pop3", Protocol::pop3}});
    if (p && std::find(out.begin(), out.end(), *p) == out.end()) out.push_back(*p);
  }
  return out;
}

void load_user(LoadContext& ctx, const std::string& name, const Entry& e, Config& cfg) {
  MapReader m(ctx.diag, e, {"password_hash", "tenant", "mailbox", "protocols", "sources", "senders", "rewrite_sender",
                               "delivery"});
  if (!m.is_map()) return;
  User u;
  u.name = name;
  if (auto f = m.require("password_hash", "create one with `xoauth2-relay hash-password` and paste it in quotes")) {
    if (auto v = read_string(ctx.diag, *f)) {
      std::string why;
      if (auth::hash_is_valid(*v, &why)) u.password_hash = *v;
      else ctx.diag.add(f->mark(), f->path, why);
    }
  }
  if (auto f = m.require("tenant", "the name of an entry under `tenants:`"))
    if (auto v = read_tenant_ref(ctx, *f)) u.tenant = *v;
  if (auto f = m.require("mailbox", "the Office 365 mailbox this device sends as, e.g. scanner@contoso.com"))
    if (auto v = read_mailbox(ctx, *f)) u.mailbox = *v;
  u.protocols = {Protocol::smtp, Protocol::imap, Protocol::pop3};
  if (auto f = m.get("protocols")) u.protocols = read_protocols(ctx, *f);
  if (auto f = m.get("sources")) u.sources = read_sources(ctx, *f);
  u.senders = read_senders(ctx, m.get("senders"), u.mailbox);
  if (auto f = m.get("rewrite_sender")) u.rewrite_sender = read_rewrite_sender(ctx, *f);
  if (auto f = m.get("delivery")) {
    if (auto v = read_delivery(ctx, *f)) u.delivery = *v;
    // An empty `protocols` list is reported already; one error is enough.
    if (u.delivery == Delivery::spool && !u.protocols.empty() && !u.allows(Protocol::smtp))
      ctx.diag.add(f->mark(), f->path, "delivery applies to SMTP; this user's protocols do not include smtp, so add "
                                       "smtp to protocols or remove delivery");
  }
  cfg.users[name] = std::move(u);
}

void load_rule(LoadContext& ctx, const Entry& e, Config& cfg) {
  MapReader m(ctx.diag, e, {"sources", "tenant", "mailbox", "senders", "rewrite_sender", "delivery"});
  if (!m.is_map()) return;
  NoAuthRule r;
  if (auto f = m.require("sources", "the devices' addresses, e.g. sources: [\"192.168.20.5\"]"))
    r.sources = read_sources(ctx, *f);
  if (auto f = m.require("tenant", "the name of an entry under `tenants:`"))
    if (auto v = read_tenant_ref(ctx, *f)) r.tenant = *v;
  if (auto f = m.require("mailbox", "the Office 365 mailbox these devices send as, e.g. mfp@contoso.com"))
    if (auto v = read_mailbox(ctx, *f)) r.mailbox = *v;
  r.senders = read_senders(ctx, m.get("senders"), r.mailbox);
  if (auto f = m.get("rewrite_sender")) r.rewrite_sender = read_rewrite_sender(ctx, *f);
  if (auto f = m.get("delivery"))
    if (auto v = read_delivery(ctx, *f)) r.delivery = *v;
  cfg.no_auth.push_back(std::move(r));
}

}  // namespace

void load_users(LoadContext& ctx, const Entry& e, Config& cfg) {
  // Any key is a user name; MapReader reports names written twice.
  MapReader names(ctx.diag, e, {});
  for (const auto& [name, entry] : names.entries()) load_user(ctx, name, entry, cfg);
}

void load_no_auth(LoadContext& ctx, const Entry& e, Config& cfg) {
  auto items = read_list(ctx.diag, e, "[{sources: [\"192.168.20.5\"], tenant: contoso, mailbox: mfp@contoso.com}]");
  if (!items) return;
  for (const auto& item : *items) load_rule(ctx, item, cfg);
}

}  // namespace xr::conf
