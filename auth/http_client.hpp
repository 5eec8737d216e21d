// The one HTTP call the token provider makes, behind an interface so tests can
// answer it without a network. The curl implementation blocks: it is only ever
// called on the token provider's own worker thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace xr::auth {

struct HttpResponse {
  int status = 0;            // 0 when there was no response
  std::string body;
  std::string transport_error;  // curl's message when status == 0 (no secrets in it)
};

struct HttpRequest {
  std::string url;
  std::string form_body;  // application/x-www-form-urlencoded; holds the secret: never log
  std::optional<std::string> ca_file;  // extra CA bundle, on top of the system's
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds total_timeout{30000};
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
