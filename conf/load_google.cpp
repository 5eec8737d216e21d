// `provider: google` tenants: a Google Workspace domain reached with a
// service account's JSON key (domain-wide delegation). The key file is a
// secret like a client secret file: same mode checks, read at every load
// and reload, never echoed. yaml-cpp reads it (JSON is YAML).
#include "conf/files.hpp"
#include "conf/loader.hpp"

#include <yaml-cpp/yaml.h>

namespace xr::conf {
namespace {

constexpr const char* kMailScope = "https://mail.google.com/";
constexpr const char* kKeyHowTo =
    "download a JSON key in the Google Cloud console: IAM & Admin > Service accounts > the account > Keys > "
    "Add key > Create new key > JSON";

// Microsoft's keys that make no sense for Google, each with what replaces it.
struct Refused {
  const char* key;
  const char* instead;
};
constexpr Refused kMicrosoftOnly[] = {
    {"tenant_id", "the Workspace domain comes from the mailboxes"},
    {"client_id", "the client ID comes from service_account_file"},
    {"client_secret_file", "Google tenants sign in with service_account_file"},
    {"client_secret_env", "Google tenants sign in with service_account_file"},
    {"client_secret_expires", "service account keys are managed in the Google Cloud console"},
    {"certificate", "Google tenants sign in with service_account_file"},
    {"authority", "the token endpoint is the key file's token_uri"},
};

std::optional<std::string> string_at(const YAML::Node& doc, const char* key) {
  const YAML::Node n = doc[key];
  if (!n || !n.IsScalar() || n.Scalar().empty()) return std::nullopt;
  return n.Scalar();
}

// Parses the key file's text into `sa`; returns why it is not a usable
// service account key (the text never appears in it).
std::optional<std::string> parse_service_account(const std::string& text, ServiceAccount& sa) {
  YAML::Node doc;
  try {
    doc = YAML::Load(text);
  } catch (const YAML::Exception&) {
    return std::string("is not valid JSON; ") + kKeyHowTo;
  }
  if (!doc.IsMap()) return std::string("is not a JSON object; ") + kKeyHowTo;
  // An OAuth client ("installed"/"web") is the usual wrong download.
  if (doc["installed"] || doc["web"])
    return std::string("is an OAuth client ID file, not a service account key; ") + kKeyHowTo;
  const auto type = string_at(doc, "type");
  if (type != std::optional<std::string>("service_account"))
    return "holds type " + (type ? "`" + *type + "`" : std::string("(none)")) +
           ", not service_account; " + kKeyHowTo;
  std::string missing;
  for (const char* k : {"client_email", "client_id", "private_key_id", "private_key"})
    if (!string_at(doc, k)) missing += std::string(missing.empty() ? "" : ", ") + k;
  if (!missing.empty()) return "lacks " + missing + "; " + kKeyHowTo;
  sa.client_email = *string_at(doc, "client_email");
  sa.client_id = *string_at(doc, "client_id");
  sa.private_key_id = *string_at(doc, "private_key_id");
  if (auto uri = string_at(doc, "token_uri")) {
    // The signed assertion goes there: never over plain HTTP.
    if (uri->rfind("https://", 0) != 0 || uri->size() <= 8 || uri->find_first_of(" \t") != std::string::npos)
      return "has token_uri `" + *uri + "`, which is not an https:// URL (Google's is " + sa.token_uri + ")";
    sa.token_uri = *uri;
  }
  Secret key(*string_at(doc, "private_key"));
  if (auto why = rsa_private_key_problem(key.reveal())) return "private_key: " + *why + "; " + kKeyHowTo;
  sa.private_key = std::move(key);
  return std::nullopt;
}

void read_service_account_file(LoadContext& ctx, const Entry& e, Tenant& t) {
  auto resolved = read_path(ctx, e);
  if (!resolved) return;
  const std::string& path = *resolved;
  t.service_account_file = path;
  Secret text;
  if (auto err = read_secret_file(path, text)) {
    bool says_fix = err->find("; run: chmod") != std::string::npos;
    ctx.diag.add(e.mark(), e.path,
                 says_fix ? *err
                          : *err + "; the file is the service account's JSON key (mode 0600, readable by the "
                                   "relay's user); relative paths start at the config file's directory");
    return;
  }
  ServiceAccount sa;
  if (auto why = parse_service_account(text.reveal(), sa)) {
    ctx.diag.add(e.mark(), e.path, "`" + path + "` " + *why);
    return;
  }
  t.service_account = std::move(sa);
}

}  // namespace

void read_provider(LoadContext& ctx, const MapReader& m, Tenant& t) {
  if (auto f = m.get("provider"))
    if (auto v = read_enum<Provider>(ctx.diag, *f, {{"microsoft", Provider::microsoft}, {"google", Provider::google}}))
      t.provider = *v;
}

void read_google(LoadContext& ctx, const MapReader& m, Tenant& t) {
  for (const auto& r : kMicrosoftOnly)
    if (auto f = m.get(r.key))
      ctx.diag.add(f->key_mark, f->path, std::string(r.key) + " is for Microsoft tenants; this tenant has provider: "
                                             "google (" + r.instead + "): remove " + r.key);
  if (auto f = m.require("service_account_file", "the service account's JSON key file (domain-wide delegation)"))
    read_service_account_file(ctx, *f, t);
  t.scope = kMailScope;
  if (auto f = m.get("scope")) {
    if (auto v = read_string(ctx.diag, *f)) {
      if (v->rfind("https://", 0) != 0)
        ctx.diag.add(f->mark(), f->path, "`" + *v + "` is not a Google OAuth scope; Gmail's XOAUTH2 needs " +
                                             kMailScope + " (the default: remove scope)");
      else
        t.scope = *v;
    }
  }
  // Google's endpoints; the tenant's own smtp/imap/pop3 keys, read after
  // this, override them. Gmail allows 15 IMAP connections per account.
  t.smtp = Endpoint{"smtp.gmail.com", 587, TlsMode::starttls, 3};
  t.imap = Endpoint{"imap.gmail.com", 993, TlsMode::implicit, 15};
  t.pop3 = Endpoint{"pop.gmail.com", 995, TlsMode::implicit, 15};
}

}  // namespace xr::conf
