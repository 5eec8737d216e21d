// What every HTTPS request of the relay sets on its curl handle (token
// requests, Graph calls): HTTPS only, no redirects (a redirect would carry a
// secret or a bearer token elsewhere), bounded time, full certificate checks
// with TLS 1.2 or later, the tenant's extra CA added to the system store
// rather than replacing it, the config's proxy only (curl never reads the
// environment's), and an abort flag for a stopping relay. One place, so a
// hardening of one client is a hardening of both.
#pragma once

#include "conf/secret.hpp"

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>

namespace xr::auth {

// curl_global_init, once per process, before the first handle.
void curl_init_once();

// An easy handle, cleaned up on every path.
struct CurlEasy {
  CurlEasy() : h(curl_easy_init()) {}
  ~CurlEasy() {
    if (h) curl_easy_cleanup(h);
  }
  CurlEasy(const CurlEasy&) = delete;
  CurlEasy& operator=(const CurlEasy&) = delete;
  CURL* h;
};

// The proxy's user name and password, split at the first ':' and handed to
// curl separately (CURLOPT_PROXYUSERPWD would treat a ':' in the password
// differently than the file means it); wiped when the request ends. Must
// outlive curl_easy_perform.
struct CurlProxyLogin {
  std::string user, password;
  CurlProxyLogin() = default;
  CurlProxyLogin(const CurlProxyLogin&) = delete;
  CurlProxyLogin& operator=(const CurlProxyLogin&) = delete;
  ~CurlProxyLogin();
};

struct CurlHttps {
  const std::string& url;
  std::chrono::milliseconds connect_timeout;
  std::chrono::milliseconds total_timeout;
  const std::optional<std::string>& ca_file;  // must outlive the transfer
  const std::string& proxy_url;               // "" = direct
  const conf::Secret& proxy_credentials;      // "user:password"; empty: none
  char* errbuf;                               // CURL_ERROR_SIZE bytes
  std::atomic<bool>* stopping;                // true aborts the transfer
};

// Sets the options above on `h`; `login` keeps the proxy credentials alive.
void set_https_options(CURL* h, const CurlHttps& o, CurlProxyLogin& login);

}  // namespace xr::auth
