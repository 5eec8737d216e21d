// Microsoft Graph calls the relay makes: sendMail (a message whose tenant
// says `smtp: {via: graph}`) and the doctor's read-only checks. Blocking
// (libcurl): the relay runs them on a worker pool, never on an I/O thread.
// No Asio here.
#pragma once

#include "conf/config.hpp"
#include "conf/secret.hpp"
#include "protocols/smtp_reply.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace xr::graph {

// Graph's request limit is about 4 MB; base64 makes 3 bytes 4. The raw MIME
// (with any Bcc: we add) must stay at or below this.
std::uint64_t max_raw_message(const conf::GraphSettings& settings);

// Where and as whom a request goes.
struct Target {
  std::string endpoint;  // tenant.graph.endpoint, e.g. https://graph.microsoft.com
  std::string mailbox;   // the user principal name the message is sent as
  conf::Secret token;    // bearer token for graph.scope; never logged
  std::optional<std::string> ca_file;
  std::string proxy_url;              // as HttpRequest: "" = direct
  conf::Secret proxy_credentials;
  std::chrono::milliseconds connect_timeout{30000};
  std::chrono::milliseconds total_timeout{120000};
};

// The message, read once from the start (a buffer in memory, or a spool file).
class MessageSource {
 public:
  virtual ~MessageSource() = default;
  virtual std::uint64_t size() const = 0;               // bytes read() will give in all
  virtual std::size_t read(char* out, std::size_t n) = 0;  // 0 at the end
};

// What a Graph call came to, already said the SMTP way.
struct SendResult {
  enum class Kind {
    accepted,      // 202: Exchange queued it (the device may hear 250)
    permanent,     // 4xx other than throttling: the device hears 5xx, the spool bounces
    temporary,     // throttled, 5xx, network: 4xx, the spool retries
    unauthorized,  // 401: refresh the token once and try again, then temporary (454)
  };
  Kind kind = Kind::temporary;
  int http_status = 0;       // 0: no response
  std::string graph_code;    // error.code from the body, e.g. "ErrorSendAsDenied"
  std::string graph_message; // error.message (no secrets)
  std::string request_id;    // Graph's request-id header, for the log
  std::optional<std::chrono::seconds> retry_after;  // 429/503 Retry-After
  smtp::Reply reply;         // what the device (or the DSN) gets
  std::string detail;        // one line for the log
};

class Client {
 public:
  virtual ~Client() = default;
  // POST {endpoint}/v1.0/users/{mailbox}/sendMail, Content-Type: text/plain,
  // body = base64 of `mime`, encoded while it is sent (never held twice).
  virtual SendResult send_mail(const Target& target, MessageSource& mime) = 0;
  // GET {endpoint}/v1.0/users/{mailbox}: the doctor's dry check. Its
  // status and error code are in the result; reply/kind are as for send_mail.
  virtual SendResult get_user(const Target& target) = 0;
  // Requests in progress and later ones fail promptly (a stopping relay).
  virtual void shutdown() {}
};

std::unique_ptr<Client> make_curl_client();

}  // namespace xr::graph
