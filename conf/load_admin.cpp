// `admin:` — the HTTP endpoint for metrics and health checks.
#include "conf/listen_address.hpp"
#include "conf/loader.hpp"

namespace xr::conf {

void load_admin(LoadContext& ctx, const Entry& e, Config& cfg) {
  MapReader m(ctx.diag, e, {"listen", "allow_from"});
  if (!m.is_map()) return;
  auto listen = m.require("listen", "the address and port of the metrics endpoint, e.g. listen: \"127.0.0.1:9187\"");
  if (!listen) return;
  auto text = read_string(ctx.diag, *listen);
  if (!text) return;
  std::string why;
  auto a = parse_listen_address(*text, &why);
  if (!a) {
    ctx.diag.add(listen->mark(), listen->path, "`" + *text + "`: " + why);
    return;
  }
  // Listeners are loaded first: a clash is reported here, where it was made.
  for (const auto& l : cfg.listeners) {
    if (l.address == a->address && l.port == a->port) {
      ctx.diag.add(listen->mark(), listen->path,
                   "`" + *text + "` is already used by the " + to_string(l.protocol) + " listener; pick another port");
      return;
    }
  }
  Admin admin{*text, a->address, a->port, {}};
  if (auto f = m.get("allow_from")) {
    admin.allow_from = read_sources(ctx, *f);
  } else {
    admin.allow_from = {*Cidr::parse("127.0.0.0/8"), *Cidr::parse("::1")};
  }
  cfg.admin = std::move(admin);
}

}  // namespace xr::conf
