// What a Graph answer means for the device and the spool: the pure mapping
// from an HTTP outcome to SendResult (kind, SMTP reply, log detail).
#pragma once

#include "graph/graph_client.hpp"

#include <chrono>
#include <string>
#include <string_view>

namespace xr::graph {

// What the HTTP exchange gave, before interpretation.
struct HttpAnswer {
  int status = 0;               // 0: no response (transport_error says why)
  std::string body;             // the response body (capped by the client)
  std::string request_id;       // request-id, else client-request-id
  std::string retry_after;      // the Retry-After header as sent, "" if none
  std::string transport_error;  // curl's message (never the token or the body we sent)
  bool stopped = false;         // aborted because the relay is stopping
  bool source_short = false;    // the message could not be read to its end
};

SendResult map_send_mail(const HttpAnswer& answer, std::string_view mailbox, std::chrono::system_clock::time_point now);

// GET /users/{mailbox}: 200 is `accepted` (the mailbox exists and the token
// may read it); errors map as for sendMail, which the doctor reads.
SendResult map_get_user(const HttpAnswer& answer, std::string_view mailbox, std::chrono::system_clock::time_point now);

}  // namespace xr::graph
