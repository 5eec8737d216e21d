// libcurl implementation of HttpClient: HTTPS only, no redirects (a redirect
// would carry the secret elsewhere), bounded time and response size, and the
// tenant's extra CA added to the system trust store rather than replacing it.
#include "auth/http_client.hpp"

#include "protocols/secret.hpp"

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <atomic>
#include <mutex>
#include <string>

namespace xr::auth {
namespace {

constexpr std::size_t kMaxResponse = 1 << 20;  // a token answer is a few KiB

struct Easy {
  Easy() : h(curl_easy_init()) {}
  ~Easy() {
    if (h) curl_easy_cleanup(h);
  }
  Easy(const Easy&) = delete;
  Easy& operator=(const Easy&) = delete;
  CURL* h;
};

// The body holds the access token: it grows without leaving copies behind,
// and what is not handed on is wiped.
struct Collected {
  std::string body;
  bool too_big = false;
  Collected() { body.reserve(16 * 1024); }
  ~Collected() { wipe_secret(body); }
  Collected(const Collected&) = delete;
  Collected& operator=(const Collected&) = delete;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* c = static_cast<Collected*>(user);
  std::size_t len = size * n;
  if (c->body.size() + len > kMaxResponse) {
    c->too_big = true;
    return 0;  // makes curl fail the transfer
  }
  append_wiping(c->body, std::string_view(data, len));
  return len;
}

// Called by curl with its OpenSSL SSL_CTX: add the tenant's CA file to the
// store that already holds the system bundle.
CURLcode add_ca(CURL*, void* ssl_ctx, void* user) {
  const auto* path = static_cast<const std::string*>(user);
  X509_STORE* store = SSL_CTX_get_cert_store(static_cast<SSL_CTX*>(ssl_ctx));
  return X509_STORE_load_file(store, path->c_str()) == 1 ? CURLE_OK : CURLE_SSL_CACERT_BADFILE;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<std::atomic<bool>*>(user)->load() ? 1 : 0;  // non-zero aborts
}

class CurlHttpClient : public HttpClient {
 public:
  void shutdown() override { stopping_ = true; }

  CurlHttpClient() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  }

  HttpResponse post_form(const HttpRequest& req) override {
    HttpResponse resp;
    Easy easy;
    if (!easy.h) {
      resp.transport_error = "cannot initialise libcurl";
      return resp;
    }
    if (stopping_) {
      resp.transport_error = "relay is stopping";
      return resp;
    }
    Collected collected;
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_slist* headers = curl_slist_append(nullptr, "Accept: application/json");
    CURL* h = easy.h;
    curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.form_body.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.form_body.size()));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "xoauth2-relay");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(req.connect_timeout.count()));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(req.total_timeout.count()));
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &collected);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &stopping_);
    if (req.ca_file) {
      curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, add_ca);
      curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, &*req.ca_file);
    }
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK) {
      // curl's messages name host, port and the TLS problem; the form body
      // (with the secret) never appears in them.
      resp.transport_error = collected.too_big ? "response larger than 1 MiB"
                             : errbuf[0]       ? std::string(errbuf)
                                               : std::string(curl_easy_strerror(rc));
      return resp;
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    resp.status = static_cast<int>(status);
    resp.body = std::move(collected.body);
    return resp;
  }

 private:
  std::atomic<bool> stopping_{false};
};

}  // namespace

std::unique_ptr<HttpClient> make_curl_http_client() { return std::make_unique<CurlHttpClient>(); }

}  // namespace xr::auth
