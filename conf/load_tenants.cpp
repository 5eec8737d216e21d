// `tenants:` — one Entra app registration per Office 365 tenant.
#include "conf/files.hpp"
#include "conf/loader.hpp"

#include <chrono>
#include <cstdio>

#include <cctype>
#include <cstdlib>

namespace xr::conf {
namespace {

bool is_guid(const std::string& s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

// The tenant ID goes into the token URL's path: a GUID or a DNS name only.
bool is_domain(const std::string& s) {
  if (s.empty() || s.front() == '.' || s.back() == '.' || s.find('.') == std::string::npos) return false;
  if (s.find("..") != std::string::npos) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') return false;
  return true;
}

bool is_env_name(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s.front()))) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

// `authority` is the sign-in origin only (scheme://host[:port]): the relay
// appends /{tenant_id}/oauth2/v2.0/token itself, so a path would make the
// token URL wrong (Entra answers 404).
std::optional<std::string> authority_problem(const std::string& v, const std::string& tenant_id) {
  // The token request carries the client secret: never over plain HTTP.
  if (v.rfind("https://", 0) != 0 || v.size() <= 8 || v.find_first_of(" \t") != std::string::npos)
    return std::string("expected an https:// URL such as https://login.microsoftonline.com");
  const std::size_t host_end = v.find_first_of("/?#", 8);
  if (host_end == std::string::npos) return std::nullopt;
  std::string rest = v.substr(host_end);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.empty()) return std::nullopt;  // a trailing slash is harmless
  const std::string origin = v.substr(0, host_end);
  std::string why;
  bool guid_segment = false;
  for (std::size_t at = 0; at < rest.size();) {
    std::size_t end = rest.find_first_of("/?#", at + 1);
    std::string seg = rest.substr(at + 1, (end == std::string::npos ? rest.size() : end) - at - 1);
    if (is_guid(seg)) guid_segment = true;
    at = end == std::string::npos ? rest.size() : end;
  }
  if ((!tenant_id.empty() && rest.find(tenant_id) != std::string::npos) || guid_segment)
    why = "holds the tenant ID in its path";
  else if (rest.find("oauth2") != std::string::npos)
    why = "is a token or sign-in URL";
  else
    why = "has a path (" + rest + ")";
  return "`" + v + "` " + why + "; authority is only the sign-in origin (scheme://host[:port]): the relay adds "
         "/{tenant_id}/oauth2/v2.0/token itself (the tenant comes from tenant_id); write authority: " + origin;
}

// Mistakes a secret's value reveals without being shown: the Secret ID
// (a GUID Entra shows next to the value) pasted instead of the Value, and
// white space an editor or a copy left at the end.
void warn_about_secret(LoadContext& ctx, const Entry& e, const std::string& where, const Secret& secret) {
  const std::string& v = secret.reveal();
  if (v.empty()) return;
  if (is_guid(v))
    ctx.diag.warn(e.mark(), e.path, where + " holds a GUID: that is the secret's Secret ID, not its Value; in "
                                            "Entra admin center > App registrations > the app > Certificates & "
                                            "secrets, copy the Value column (shown only right after the secret "
                                            "is created; if it is hidden, create a new secret)");
  const char last = v.back();
  if (last == ' ' || last == '\t' || last == '\n' || last == '\r')
    ctx.diag.warn(e.mark(), e.path, where + " ends in white space (spaces, tabs or more than one line end) that "
                                            "is sent as part of the secret; remove it so the value ends with its "
                                            "last character (one final newline is fine)");
}

// `via` (smtp only) is handed back for read_graph, which needs the provider.
void read_endpoint(LoadContext& ctx, const Entry& e, Protocol protocol, Endpoint& ep,
                   std::optional<Entry>* via = nullptr) {
  MapReader m(ctx.diag, e, {"host", "port", "tls", "max_connections_per_mailbox", "max_messages_per_minute", "via"});
  if (auto c = m.get("via")) {
    if (protocol != Protocol::smtp || via == nullptr)
      ctx.diag.add(c->key_mark, c->path, std::string("via applies to smtp only (how messages leave: smtp or graph); "
                                                     "move it under smtp: or remove it from ") + to_string(protocol) + ":");
    else
      *via = c;
  }
  // Known under every protocol so a misplaced key gets this hint, not
  // "unknown key": only SMTP submissions go through the spool's pacing.
  if (auto c = m.get("max_messages_per_minute")) {
    if (protocol != Protocol::smtp) {
      ctx.diag.add(c->key_mark, c->path, std::string("max_messages_per_minute applies to smtp only (it paces the "
                                                     "spool's deliveries); move it under smtp: or remove it from ") +
                                             to_string(protocol) + ":");
    } else if (auto v = read_uint(ctx.diag, *c, 1, 100000)) {
      ep.max_messages_per_minute = static_cast<std::size_t>(*v);
    }
  }
  if (auto c = m.get("max_connections_per_mailbox"))
    if (auto v = read_uint(ctx.diag, *c, 1, 1000)) ep.max_connections_per_mailbox = static_cast<std::size_t>(*v);
  if (auto h = m.get("host"))
    if (auto v = read_string(ctx.diag, *h)) ep.host = *v;
  if (auto p = m.get("port"))
    if (auto v = read_uint(ctx.diag, *p, 1, 65535)) ep.port = static_cast<std::uint16_t>(*v);
  if (auto t = m.get("tls")) {
    auto v = read_enum<TlsMode>(ctx.diag, *t,
                                {{"none", TlsMode::none}, {"starttls", TlsMode::starttls}, {"implicit", TlsMode::implicit}});
    if (v == TlsMode::none) {
      ctx.diag.add(t->mark(), t->path,
                   "the upstream connection carries the OAuth token, so it is always TLS; use starttls or implicit");
    } else if (v) {
      ep.tls = *v;
    }
  }
}

void read_secret_from_file(LoadContext& ctx, const Entry& e, Tenant& t) {
  auto resolved = read_path(ctx, e);
  if (!resolved) return;
  const std::string& path = *resolved;
  t.client_secret_file = path;
  if (auto err = read_secret_file(path, t.client_secret); !err) {
    warn_about_secret(ctx, e, "`" + path + "`", t.client_secret);
  } else {
    bool says_fix = err->find("; run: chmod") != std::string::npos;
    ctx.diag.add(e.mark(), e.path,
                 says_fix ? *err
                          : *err + "; the file holds the app's client secret value (mode 0600, readable by the "
                                   "relay's user); relative paths start at the config file's directory");
  }
}

void read_secret_from_env(LoadContext& ctx, const Entry& e, Tenant& t) {
  auto name = read_string(ctx.diag, e);
  if (!name) return;
  if (!is_env_name(*name)) {
    // Not echoed: a value that is not a variable name is often the secret itself.
    ctx.diag.add(e.mark(), e.path, "this is not an environment variable name (letters, digits, '_'); write the "
                                   "variable's name (e.g. CONTOSO_CLIENT_SECRET), not the secret");
    return;
  }
  t.client_secret_env = *name;
  const char* value = std::getenv(name->c_str());
  if (value == nullptr) {
    ctx.diag.add(e.mark(), e.path, "environment variable " + *name + " is not set; set it in the service's "
                                   "environment (e.g. systemd EnvironmentFile=) or use client_secret_file");
  } else if (*value == '\0') {
    ctx.diag.add(e.mark(), e.path, "environment variable " + *name + " is empty; it must hold the client secret");
  } else {
    t.client_secret = Secret(value);
    warn_about_secret(ctx, e, "environment variable " + *name, t.client_secret);
  }
}

void read_certificate(LoadContext& ctx, const Entry& e, Tenant& t) {
  MapReader m(ctx.diag, e, {"cert_file", "key_file"});
  CertificateCredential c;
  auto cert = m.require("cert_file", "the PEM certificate uploaded to the app registration");
  auto key = m.require("key_file", "its PEM private key (unencrypted)");
  auto files = read_cert_and_key(ctx, cert, key, PemUse::client_assertion);
  if (files.cert_file) c.cert_file = *files.cert_file;
  if (files.key_file) c.key_file = *files.key_file;
  t.certificate = c;
}

void read_credential(LoadContext& ctx, const MapReader& m, Tenant& t) {
  std::vector<Entry> given;
  for (const char* k : {"client_secret_file", "client_secret_env", "certificate"})
    if (auto e = m.get(k)) given.push_back(*e);
  if (given.empty()) {
    ctx.diag.add(m.self().mark(), m.self().path,
                 "no credential: add client_secret_file (a file holding the secret), client_secret_env (a variable "
                 "holding it) or certificate");
    return;
  }
  if (given.size() > 1) {
    for (std::size_t i = 1; i < given.size(); ++i)
      ctx.diag.add(given[i].key_mark, given[i].path,
                   "a tenant has exactly one credential; remove this or `" + given[0].path + "`");
    return;
  }
  if (auto e = m.get("client_secret_file")) read_secret_from_file(ctx, *e, t);
  if (auto e = m.get("client_secret_env")) read_secret_from_env(ctx, *e, t);
  if (auto e = m.get("certificate")) read_certificate(ctx, *e, t);
}

// `client_secret_expires: 2027-05-01`, the "Expires" date Entra shows for
// the secret.
void read_secret_expiry(LoadContext& ctx, const Entry& e, Tenant& t) {
  if (t.certificate) {
    ctx.diag.add(e.key_mark, e.path, "only for client secrets: a certificate's expiry is read from cert_file; remove this");
    return;
  }
  auto v = read_string(ctx.diag, e);
  if (!v) return;
  unsigned y = 0, mo = 0, d = 0;
  char tail = 0;
  std::chrono::year_month_day ymd{};
  if (std::sscanf(v->c_str(), "%4u-%2u-%2u%c", &y, &mo, &d, &tail) == 3 && v->size() == 10)
    ymd = std::chrono::year_month_day{std::chrono::year(int(y)), std::chrono::month(mo), std::chrono::day(d)};
  if (!ymd.ok()) {
    ctx.diag.add(e.mark(), e.path, "`" + *v + "` is not a date; write it as YYYY-MM-DD, e.g. 2027-05-01");
    return;
  }
  t.client_secret_expires = std::chrono::sys_days(ymd);
}

// A Microsoft tenant's app registration: ids, credential, authority, scope.
void read_microsoft(LoadContext& ctx, const MapReader& m, Tenant& t) {
  if (auto f = m.get("service_account_file"))
    ctx.diag.add(f->key_mark, f->path, "service_account_file is for Google Workspace tenants; add provider: google "
                                       "to this tenant, or remove service_account_file");
  if (auto f = m.require("tenant_id", "the Directory (tenant) ID from Entra ID, or a verified domain")) {
    if (auto v = read_string(ctx.diag, *f)) {
      if (is_guid(*v) || is_domain(*v)) t.tenant_id = *v;
      else
        ctx.diag.add(f->mark(), f->path, "`" + *v + "` is neither a GUID (like 5f3c1a2b-0000-4000-8000-000000000001) "
                                                    "nor a domain (like contoso.onmicrosoft.com)");
    }
  }
  if (auto f = m.require("client_id", "the Application (client) ID of the app registration")) {
    if (auto v = read_string(ctx.diag, *f)) {
      if (is_guid(*v)) t.client_id = *v;
      else
        ctx.diag.add(f->mark(), f->path, "`" + *v + "` is not a GUID; copy the Application (client) ID from the app "
                                                    "registration's overview page");
    }
  }
  read_credential(ctx, m, t);
  if (auto f = m.get("client_secret_expires")) read_secret_expiry(ctx, *f, t);
  if (auto f = m.get("authority")) {
    if (auto v = read_string(ctx.diag, *f)) {
      if (auto why = authority_problem(*v, t.tenant_id)) ctx.diag.add(f->mark(), f->path, *why);
      else t.authority = *v;
    }
  }
  if (auto f = m.get("scope")) {
    if (auto v = read_string(ctx.diag, *f)) {
      // The client-credentials flow only issues tokens for "<resource>/.default".
      if (v->size() < 9 || v->substr(v->size() - 9) != "/.default")
        ctx.diag.add(f->mark(), f->path, "app-only tokens need a scope ending in /.default, e.g. "
                                         "https://outlook.office365.com/.default");
      else
        t.scope = *v;
    }
  }
}

void load_tenant(LoadContext& ctx, const std::string& name, const Entry& e, Config& cfg) {
  MapReader m(ctx.diag, e,
              {"tenant_id", "client_id", "client_secret_file", "client_secret_env", "certificate", "authority", "scope",
               "smtp", "imap", "pop3", "ca_file", "client_secret_expires", "proxy", "proxy_auth_file", "no_proxy",
               "graph", "provider", "service_account_file"});
  if (!m.is_map()) return;
  Tenant t;
  t.name = name;
  read_provider(ctx, m, t);  // conf/load_google.cpp
  if (t.provider == Provider::google)
    read_google(ctx, m, t);  // its key file, scope and Google's endpoints; Microsoft's keys refused
  else
    read_microsoft(ctx, m, t);
  std::optional<Entry> smtp_via;
  if (auto f = m.get("smtp")) read_endpoint(ctx, *f, Protocol::smtp, t.smtp, &smtp_via);
  if (auto f = m.get("imap")) read_endpoint(ctx, *f, Protocol::imap, t.imap);
  if (auto f = m.get("pop3")) read_endpoint(ctx, *f, Protocol::pop3, t.pop3);
  if (auto f = m.get("ca_file"); f && !f->value.IsNull()) t.ca_file = read_file_path(ctx, *f);
  read_tenant_proxy(ctx, m, t);
  read_graph(ctx, m, smtp_via, t);  // after the provider: Graph is Microsoft's only
  cfg.tenants[name] = std::move(t);
}

}  // namespace

void load_tenants(LoadContext& ctx, const Entry& e, Config& cfg) {
  MapReader names(ctx.diag, e, {});
  for (const auto& [name, entry] : names.entries()) ctx.tenant_names.insert(name);
  for (const auto& [name, entry] : names.entries()) load_tenant(ctx, name, entry, cfg);
}

}  // namespace xr::conf
