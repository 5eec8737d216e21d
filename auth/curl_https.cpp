#include "auth/curl_https.hpp"

#include "protocols/secret.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <mutex>

namespace xr::auth {
namespace {

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<std::atomic<bool>*>(user)->load() ? 1 : 0;  // non-zero aborts
}

// Called by curl with its OpenSSL SSL_CTX: add the tenant's CA file to the
// store that already holds the system bundle.
CURLcode add_ca(CURL*, void* ssl_ctx, void* user) {
  const auto* path = static_cast<const std::string*>(user);
  X509_STORE* store = SSL_CTX_get_cert_store(static_cast<SSL_CTX*>(ssl_ctx));
  return X509_STORE_load_file(store, path->c_str()) == 1 ? CURLE_OK : CURLE_SSL_CACERT_BADFILE;
}

}  // namespace

void curl_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

CurlProxyLogin::~CurlProxyLogin() {
  wipe_secret(user);
  wipe_secret(password);
}

void set_https_options(CURL* h, const CurlHttps& o, CurlProxyLogin& login) {
  curl_easy_setopt(h, CURLOPT_URL, o.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "xoauth2-relay");
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(o.total_timeout.count()));
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(h, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, o.errbuf);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, o.stopping);
  // The config is the single truth about proxies: "" means direct, and an
  // empty NOPROXY list, so curl never reads http(s)_proxy or NO_PROXY
  // from the environment on its own.
  curl_easy_setopt(h, CURLOPT_PROXY, o.proxy_url.c_str());
  curl_easy_setopt(h, CURLOPT_NOPROXY, "");
  if (!o.proxy_url.empty()) {
    // HTTP CONNECT: the proxy sees host and port only; TLS (and its
    // certificate check) stays between the relay and the endpoint. The
    // proxy's own answer headers are not the endpoint's (request-id...).
    curl_easy_setopt(h, CURLOPT_PROXYTYPE, static_cast<long>(CURLPROXY_HTTP));
    curl_easy_setopt(h, CURLOPT_HTTPPROXYTUNNEL, 1L);
    curl_easy_setopt(h, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    if (!o.proxy_credentials.empty()) {
      const std::string& both = o.proxy_credentials.reveal();
      const auto colon = both.find(':');
      login.user.reserve(both.size());
      login.password.reserve(both.size());
      login.user.append(both, 0, colon);
      if (colon != std::string::npos) login.password.append(both, colon + 1);
      curl_easy_setopt(h, CURLOPT_PROXYUSERNAME, login.user.c_str());
      curl_easy_setopt(h, CURLOPT_PROXYPASSWORD, login.password.c_str());
      curl_easy_setopt(h, CURLOPT_PROXYAUTH, static_cast<long>(CURLAUTH_BASIC));
    }
  }
  if (o.ca_file) {
    curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, add_ca);
    curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, &*o.ca_file);
  }
}

}  // namespace xr::auth
