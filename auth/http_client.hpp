// The one HTTP call the token provider makes, behind an interface so tests can
// answer it without a network. The curl implementation blocks: it is only ever
// called on the token provider's own worker thread.
#pragma once

#include "conf/secret.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace xr::auth {

struct HttpResponse {
  int status = 0;            // 0 when there was no response
  std::string body;
  std::string transport_error;  // curl's message when status == 0 (no secrets in it)
  // The request failed at the proxy hop (the proxy could not be reached, or
  // it refused the CONNECT); transport_error then names the proxy.
  bool proxy_failed = false;
  int proxy_status = 0;  // the proxy's answer to CONNECT when it was not 2xx (403, 407...)
};

struct HttpRequest {
  std::string url;
  std::string form_body;  // application/x-www-form-urlencoded; holds the secret: never log
  std::optional<std::string> ca_file;  // extra CA bundle, on top of the system's
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds total_timeout{30000};
  // The outbound proxy (conf::Tenant::proxy_for the URL's host), reached by
  // HTTP CONNECT so TLS stays end to end. Empty: connect directly; the
  // environment's HTTPS_PROXY is never read here, the config resolved it.
  std::string proxy_url;        // "http://host:port", never with credentials
  conf::Secret proxy_credentials;  // "user:password" for Basic auth; empty: none
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual HttpResponse post_form(const HttpRequest& req) = 0;
  // Makes requests in progress, and all later ones, fail promptly: lets a
  // stopping relay exit without waiting for a slow token endpoint.
  virtual void shutdown() {}
};

std::unique_ptr<HttpClient> make_curl_http_client();

}  // namespace xr::auth
