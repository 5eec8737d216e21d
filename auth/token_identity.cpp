#include "auth/token_identity.hpp"

#include "auth/proxy_route.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <fstream>
#include <iterator>
#include <memory>

namespace xr::auth {
namespace {

struct DigestFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

// Feeds a length-prefixed part, so ("ab","c") and ("a","bc") differ.
void feed(EVP_MD_CTX* ctx, std::string_view part) {
  const std::string len = std::to_string(part.size()) + ":";
  EVP_DigestUpdate(ctx, len.data(), len.size());
  EVP_DigestUpdate(ctx, part.data(), part.size());
}

// The file's bytes (wiped after use: a key file is secret), or a marker.
void feed_file(EVP_MD_CTX* ctx, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes;
  if (in.is_open()) bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (!in.is_open() || in.bad()) {
    feed(ctx, "unreadable");
    feed(ctx, path);
  } else {
    feed(ctx, "file");
    feed(ctx, bytes);
  }
  OPENSSL_cleanse(bytes.data(), bytes.size());
}

std::string hex_digest(EVP_MD_CTX* ctx) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(ctx, md, &n) != 1) return "digest-unavailable";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < n; ++i) {
    hex += kHex[md[i] >> 4];
    hex += kHex[md[i] & 15];
  }
  return hex;
}

std::string credential_digest(const conf::Tenant& t) {
  std::unique_ptr<EVP_MD_CTX, DigestFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) return "digest-unavailable";
  if (t.provider == conf::Provider::google) {
    // What the request signs with, and the key file as it is now (a file
    // replaced before the reload re-parsed it is a change too).
    feed(ctx.get(), "service-account");
    if (t.service_account) {
      feed(ctx.get(), t.service_account->client_email);
      feed(ctx.get(), t.service_account->client_id);
      feed(ctx.get(), t.service_account->private_key_id);
      feed(ctx.get(), t.service_account->private_key.reveal());
    }
    if (t.service_account_file) feed_file(ctx.get(), *t.service_account_file);
  } else if (t.certificate) {
    feed(ctx.get(), "certificate");
    feed_file(ctx.get(), t.certificate->cert_file);
    feed_file(ctx.get(), t.certificate->key_file);
  } else {
    feed(ctx.get(), "secret");
    feed(ctx.get(), t.client_secret.reveal());
  }
  return hex_digest(ctx.get());
}

std::string secret_digest(const conf::Secret& s) {
  std::unique_ptr<EVP_MD_CTX, DigestFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) return "digest-unavailable";
  feed(ctx.get(), "proxy-credentials");
  feed(ctx.get(), s.reveal());
  return hex_digest(ctx.get());
}

}  // namespace

TokenIdentity token_identity(const TokenTarget& target) {
  const conf::Tenant& t = target.tenant;
  TokenIdentity id;
  id.token_url = t.token_url();
  id.client_id = t.client_id;
  id.scope = t.scope;
  id.ca_file = t.ca_file.value_or("");
  id.credential_digest = credential_digest(t);
  id.subject = target.google_subject;
  if (const conf::EgressProxy* p = t.proxy_for(https_target(id.token_url).host)) {
    id.proxy_url = p->url;
    if (!p->credentials.empty()) id.proxy_credential_digest = secret_digest(p->credentials);
  }
  return id;
}

std::map<std::string, TokenIdentity> token_identities(const std::map<std::string, TokenTarget>& targets) {
  std::map<std::string, TokenIdentity> ids;
  for (const auto& [key, t] : targets) ids.emplace(key, token_identity(t));
  return ids;
}

std::vector<std::string> changed_tenants(const std::map<std::string, TokenIdentity>& before,
                                         const std::map<std::string, TokenIdentity>& after) {
  std::vector<std::string> changed;
  for (const auto& [name, id] : after) {
    auto old = before.find(name);
    if (old == before.end() || !(old->second == id)) changed.push_back(name);
  }
  return changed;
}

}  // namespace xr::auth
