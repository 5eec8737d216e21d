// libcurl implementation of graph::Client, in the manner of the token
// client (auth/http_client_curl.cpp): HTTPS only, no redirects (they would
// carry the bearer token elsewhere), the tenant's CA added to the system
// store, the config's proxy only (never the environment's), bounded time,
// and shutdown() aborting transfers through the progress callback.
#include "auth/curl_https.hpp"
#include "graph/base64_stream.hpp"
#include "graph/graph_client.hpp"
#include "graph/graph_url.hpp"
#include "graph/send_result.hpp"
#include "protocols/secret.hpp"

#include <curl/curl.h>

#include <atomic>
#include <cctype>
#include <cstring>
#include <random>
#include <string>

namespace xr::graph {
namespace {

// Graph's error bodies are a few hundred bytes; a user object a few KiB.
constexpr std::size_t kMaxBody = 64 * 1024;

// The request's headers; the Authorization line holds the token, so every
// line is wiped before curl frees the list.
struct Headers {
  curl_slist* list = nullptr;
  void add(const std::string& line) { list = curl_slist_append(list, line.c_str()); }
  ~Headers() {
    for (curl_slist* n = list; n != nullptr; n = n->next) explicit_bzero(n->data, std::strlen(n->data));
    curl_slist_free_all(list);
  }
};

struct Response {
  std::string body;
  std::string request_id, client_request_id, retry_after;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* r = static_cast<Response*>(user);
  const std::size_t len = size * n;
  // Beyond the cap the rest is dropped, not failed: the status still counts.
  if (r->body.size() < kMaxBody) r->body.append(data, std::min(len, kMaxBody - r->body.size()));
  return len;
}

bool header_is(std::string_view line, std::string_view name, std::string& value) {
  if (line.size() <= name.size() || line[name.size()] != ':') return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) return false;
  std::string_view v = line.substr(name.size() + 1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) v.remove_suffix(1);
  value = std::string(v.substr(0, 200));
  return true;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* r = static_cast<Response*>(user);
  const std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (after a 100 Continue): forget the earlier one's
    r->request_id.clear();
    r->client_request_id.clear();
    r->retry_after.clear();
  }
  header_is(line, "request-id", r->request_id) || header_is(line, "client-request-id", r->client_request_id) ||
      header_is(line, "retry-after", r->retry_after);
  return size * n;
}

struct Upload {
  Base64Stream stream;
  const std::atomic<bool>& stopping;
};

size_t on_read(char* out, size_t size, size_t n, void* user) {
  auto* u = static_cast<Upload*>(user);
  if (u->stopping) return CURL_READFUNC_ABORT;
  const std::size_t got = u->stream.read(out, size * n);
  // A short source would leave Graph waiting for bytes the Content-Length
  // promised; abort so nothing half-sent is taken for a message.
  if (got == 0 && u->stream.source_short()) return CURL_READFUNC_ABORT;
  return got;
}

// Sent as client-request-id: Graph echoes it and logs it on its side, so a
// request without an answer can still be found by Microsoft support.
std::string new_guid() {
  std::random_device rd;
  unsigned char b[16];
  for (auto& c : b) c = static_cast<unsigned char>(rd());
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(kHex[b[i] >> 4]);
    s.push_back(kHex[b[i] & 15]);
  }
  return s;
}

class CurlClient : public Client {
 public:
  CurlClient() { auth::curl_init_once(); }

  void shutdown() override { stopping_ = true; }

  SendResult send_mail(const Target& target, MessageSource& mime) override {
    Upload upload{Base64Stream(mime), stopping_};
    const std::string url = send_mail_url(target.endpoint, target.mailbox);
    HttpAnswer a = perform(target, url, &upload);
    a.source_short = upload.stream.source_short();
    return map_send_mail(a, target.mailbox, std::chrono::system_clock::now());
  }

  SendResult get_user(const Target& target) override {
    const std::string url = user_url(target.endpoint, target.mailbox) + "?$select=id,userPrincipalName,mail";
    return map_get_user(perform(target, url, nullptr), target.mailbox, std::chrono::system_clock::now());
  }

 private:
  // POST with `upload` as the body, or GET when it is null.
  HttpAnswer perform(const Target& target, const std::string& url, Upload* upload) {
    HttpAnswer answer;
    auth::CurlEasy easy;
    if (!easy.h || stopping_) {
      answer.stopped = stopping_;
      answer.transport_error = easy.h ? "relay is stopping" : "cannot initialise libcurl";
      return answer;
    }
    CURL* h = easy.h;
    Response resp;
    char errbuf[CURL_ERROR_SIZE] = {0};
    const std::string client_request_id = new_guid();
    Headers headers;
    {
      std::string auth = "Authorization: Bearer " + target.token.reveal();
      headers.add(auth);
      wipe_secret(auth);
    }
    headers.add("Accept: application/json");
    headers.add("client-request-id: " + client_request_id);
    if (upload) {
      headers.add("Content-Type: text/plain");
      // No "Expect: 100-continue" wait: the size was checked before sending.
      headers.add("Expect:");
      curl_easy_setopt(h, CURLOPT_POST, 1L);
      curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
      curl_easy_setopt(h, CURLOPT_READDATA, upload);
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(upload->stream.encoded_size()));
    } else {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.list);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &resp);
    auth::CurlProxyLogin login;
    auth::set_https_options(h, {url, target.connect_timeout, target.total_timeout, target.ca_file, target.proxy_url,
                                target.proxy_credentials, errbuf, &stopping_},
                            login);
    const CURLcode rc = curl_easy_perform(h);
    answer.request_id = !resp.request_id.empty() ? resp.request_id
                        : !resp.client_request_id.empty() ? resp.client_request_id
                                                          : client_request_id;
    if (rc != CURLE_OK) {
      answer.stopped = stopping_.load();
      // curl's messages name host, port and the TLS problem; never a header.
      answer.transport_error = errbuf[0] ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
      if (!target.proxy_url.empty()) {
        long connect_code = 0;
        curl_easy_getinfo(h, CURLINFO_HTTP_CONNECTCODE, &connect_code);
        answer.transport_error += connect_code != 0 && (connect_code < 200 || connect_code >= 300)
                                      ? " (proxy " + target.proxy_url + " refused CONNECT: HTTP " +
                                            std::to_string(connect_code) + ")"
                                      : " (through proxy " + target.proxy_url + ")";
      }
      return answer;
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    answer.status = static_cast<int>(status);
    answer.body = std::move(resp.body);
    answer.retry_after = std::move(resp.retry_after);
    return answer;
  }

  std::atomic<bool> stopping_{false};
};

}  // namespace

std::unique_ptr<Client> make_curl_client() { return std::make_unique<CurlClient>(); }

}  // namespace xr::graph
