// libcurl implementation of HttpClient: HTTPS only, no redirects (a redirect
// would carry the secret elsewhere), bounded time and response size, and the
// tenant's extra CA added to the system trust store rather than replacing it.
#include "auth/http_client.hpp"

#include "auth/curl_https.hpp"
#include "auth/proxy_route.hpp"
#include "protocols/secret.hpp"

#include <curl/curl.h>

#include <atomic>
#include <cstring>
#include <string>

namespace xr::auth {
namespace {

constexpr std::size_t kMaxResponse = 1 << 20;  // a token answer is a few KiB

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

// What went wrong at the proxy hop, naming the proxy and never a credential:
// a CONNECT answer other than 2xx, or no answer (unreachable proxy). nullopt
// when the tunnel stood and the failure was towards the endpoint.
std::optional<std::string> proxy_hop_failure(CURL* h, CURLcode rc, const HttpRequest& req, const std::string& curl_msg,
                                             bool sent_credentials, long& connect_code) {
  connect_code = 0;
  curl_easy_getinfo(h, CURLINFO_HTTP_CONNECTCODE, &connect_code);
  const std::string target = https_target(req.url).to_string();
  const std::string& proxy = req.proxy_url;
  if (connect_code >= 200 && connect_code < 300) return std::nullopt;
  if (connect_code != 0) {
    std::string why = "proxy " + proxy + " refused CONNECT to " + target + ": HTTP " + std::to_string(connect_code);
    // 407 is the standard answer; some proxies (tinyproxy 1.11) send 401
    // to credentials they reject.
    if (connect_code == 407 || connect_code == 401)
      why += sent_credentials ? " (it did not accept the user:password from proxy_auth_file)"
                              : " (Proxy Authentication Required, and the tenant has no proxy_auth_file)";
    return why;
  }
  long os_errno = 0;
  curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_PROXY:
      return "cannot resolve the proxy's host name in " + proxy + ": " + curl_msg;
    case CURLE_COULDNT_CONNECT:
      return "cannot connect to proxy " + proxy + ": " +
             (os_errno != 0 ? std::string(std::strerror(static_cast<int>(os_errno))) : curl_msg);
    case CURLE_OPERATION_TIMEDOUT:
      return "proxy " + proxy + " did not open a tunnel to " + target + " in time: " + curl_msg;
    default:
      return "proxy " + proxy + " failed the CONNECT to " + target + ": " + curl_msg;
  }
}

class CurlHttpClient : public HttpClient {
 public:
  void shutdown() override { stopping_ = true; }

  CurlHttpClient() { curl_init_once(); }

  HttpResponse post_form(const HttpRequest& req) override {
    HttpResponse resp;
    CurlEasy easy;
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
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.form_body.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.form_body.size()));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &collected);
    CurlProxyLogin login;
    set_https_options(h, {req.url, req.connect_timeout, req.total_timeout, req.ca_file, req.proxy_url,
                          req.proxy_credentials, errbuf, &stopping_},
                      login);
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK) {
      // curl's messages name host, port and the TLS problem; the form body
      // (with the secret) never appears in them.
      resp.transport_error = collected.too_big ? "response larger than 1 MiB"
                             : errbuf[0]       ? std::string(errbuf)
                                               : std::string(curl_easy_strerror(rc));
      if (!req.proxy_url.empty() && !collected.too_big && rc != CURLE_ABORTED_BY_CALLBACK) {
        long connect_code = 0;
        if (auto why = proxy_hop_failure(h, rc, req, resp.transport_error, !req.proxy_credentials.empty(),
                                         connect_code)) {
          resp.proxy_failed = true;
          resp.proxy_status = static_cast<int>(connect_code);
          resp.transport_error = std::move(*why);
        } else {
          resp.transport_error += " (through proxy " + req.proxy_url + ")";
        }
      }
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
