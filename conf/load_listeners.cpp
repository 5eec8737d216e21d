// `listeners:` — the addresses devices connect to.
#include "conf/listen_address.hpp"
#include "conf/loader.hpp"

namespace xr::conf {
namespace {

const std::vector<std::pair<std::string, TlsMode>> kTlsModes = {
    {"none", TlsMode::none}, {"starttls", TlsMode::starttls}, {"implicit", TlsMode::implicit}};

struct Placed {
  Listener listener;
  Entry listen;  // for "already used" errors
};

std::optional<Placed> load_listener(LoadContext& ctx, const Entry& e) {
  MapReader m(ctx.diag, e, {"protocol", "listen", "tls", "cert_file", "key_file", "allow_plaintext_auth",
                                 "min_tls_version", "proxy_protocol", "proxy_from"});
  if (!m.is_map()) return std::nullopt;
  Listener l;
  if (auto f = m.get("protocol")) {
    if (auto v = read_enum<Protocol>(ctx.diag, *f,
                                     {{"smtp", Protocol::smtp}, {"imap", Protocol::imap}, {"pop3", Protocol::pop3}}))
      l.protocol = *v;
  }
  auto listen = m.require("listen", "the address and port to accept on, e.g. listen: \"0.0.0.0:587\"");
  if (listen) {
    if (auto text = read_string(ctx.diag, *listen)) {
      std::string why;
      if (auto a = parse_listen_address(*text, &why)) {
        l.listen = *text;
        l.address = a->address;
        l.port = a->port;
      } else {
        ctx.diag.add(listen->mark(), listen->path, "`" + *text + "`: " + why);
        listen.reset();
      }
    } else {
      listen.reset();
    }
  }
  // Required, not defaulted: whether devices talk TLS is a choice to make
  // explicitly, and it decides which port numbers make sense.
  auto tls = m.require("tls", "write tls: starttls, implicit or none");
  if (tls)
    if (auto v = read_enum<TlsMode>(ctx.diag, *tls, kTlsModes)) l.tls = *v;
  auto cert = m.get("cert_file");
  auto key = m.get("key_file");
  if (l.tls == TlsMode::none) {
    for (const auto& f : {cert, key}) {
      if (f)
        ctx.diag.add(f->key_mark, f->path, "unused with tls: none; remove it or set tls: starttls or implicit");
    }
  } else if (tls) {
    std::string why = std::string("tls: ") + to_string(l.tls) + " needs a certificate";
    if (!cert) m.require("cert_file", why + " (PEM, full chain)");
    if (!key) m.require("key_file", why + " and its private key (PEM)");
    auto files = read_cert_and_key(ctx, cert, key, PemUse::listener);
    l.cert_file = files.cert_file;
    l.key_file = files.key_file;
  }
  if (auto f = m.get("min_tls_version")) {
    if (l.tls == TlsMode::none) {
      ctx.diag.add(f->key_mark, f->path, "unused with tls: none; remove it or set tls: starttls or implicit");
    } else if (auto v = read_enum<TlsVersion>(ctx.diag, *f,
                                              {{"1.0", TlsVersion::v1_0}, {"1.1", TlsVersion::v1_1},
                                               {"1.2", TlsVersion::v1_2}, {"1.3", TlsVersion::v1_3}})) {
      l.min_tls_version = *v;
    }
  }
  auto plaintext = m.get("allow_plaintext_auth");
  if (plaintext)
    if (auto v = read_bool(ctx.diag, *plaintext)) l.allow_plaintext_auth = *v;
  if (tls && l.tls == TlsMode::none && !plaintext) {
    // The relay offers AUTH only over TLS unless told otherwise: devices on
    // this listener see no AUTH in EHLO (most then give up or send without
    // logging in), and only no_auth sources can use it.
    ctx.diag.warn(tls->mark(), tls->path,
                  "tls: none without allow_plaintext_auth: true offers devices no AUTH (their passwords would "
                  "cross the network in clear), so only no_auth sources can send here; add allow_plaintext_auth: "
                  "true if devices on a trusted network log in on this port, or use tls: starttls");
  }
  auto proxy = m.get("proxy_protocol");
  if (proxy)
    if (auto v = read_bool(ctx.diag, *proxy)) l.proxy_protocol = *v;
  if (auto f = m.get("proxy_from")) {
    if (!l.proxy_protocol)
      ctx.diag.add(f->key_mark, f->path, "unused without proxy_protocol: true; add it or remove proxy_from");
    else
      l.proxy_from = read_sources(ctx, *f);
  } else if (l.proxy_protocol && proxy) {
    // Without it anyone could claim any address: refuse to guess.
    ctx.diag.add(proxy->key_mark, proxy->path,
                 "proxy_protocol: true needs proxy_from: the load balancers' addresses, e.g. proxy_from: [\"10.0.0.5/32\"]");
  }
  if (!listen) return std::nullopt;
  return Placed{std::move(l), *listen};
}

}  // namespace

void load_listeners(LoadContext& ctx, const Entry& e, Config& cfg) {
  auto items = read_list(ctx.diag, e, "[{protocol: smtp, listen: \"0.0.0.0:587\", tls: starttls, ...}]");
  if (!items) return;
  if (items->empty()) {
    ctx.diag.add(e.mark(), e.path, "no listeners: add at least one, e.g. {protocol: smtp, listen: \"0.0.0.0:587\", "
                                   "tls: starttls, cert_file: ..., key_file: ...}");
  }
  std::vector<Placed> placed;
  for (const auto& item : *items) {
    auto p = load_listener(ctx, item);
    if (!p) continue;
    for (const auto& earlier : placed) {
      if (earlier.listener.address == p->listener.address && earlier.listener.port == p->listener.port) {
        ctx.diag.add(p->listen.mark(), p->listen.path,
                     "`" + p->listener.listen + "` is already used by the listener at line " +
                         std::to_string(earlier.listen.key_mark.line + 1) + "; each listener needs its own port");
        break;
      }
    }
    placed.push_back(*p);
    cfg.listeners.push_back(std::move(p->listener));
  }
}

}  // namespace xr::conf
