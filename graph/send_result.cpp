// The mapping table (issue 16). The device hears 250 only for Graph's 202.
// Permanent 5xx only where repeating the same request cannot succeed
// without an admin's change; everything else is 4xx so devices and the
// spool retry.
//
// 404 (ErrorInvalidUser, ResourceNotFound, MailboxNotEnabledForRESTAPI...):
// the mailbox the relay sends *as* does not exist in the tenant (or has no
// Exchange Online mailbox). That is the sender's address, not a recipient's,
// so 550 5.1.8 ("bad sender's system address", RFC 3463; Exchange Online uses
// 5.1.8 for refused senders too) rather than 5.1.1, which would make a DSN
// blame a recipient.
#include "graph/send_result.hpp"

#include "graph/error_body.hpp"
#include "graph/retry_after.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace xr::graph {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return out;
}

bool has(std::string_view haystack, std::string_view needle) { return lower(haystack).find(needle) != std::string::npos; }

// "[ErrorSendAsDenied, request-id 1234]": what the admin searches for.
std::string tag(const SendResult& r) {
  std::string t;
  if (!r.graph_code.empty()) t = r.graph_code;
  if (!r.request_id.empty()) t += (t.empty() ? "" : ", ") + std::string("request-id ") + r.request_id;
  return t.empty() ? "" : " [" + t + "]";
}

void set(SendResult& r, SendResult::Kind kind, int code, const std::string& text) {
  r.kind = kind;
  r.reply = smtp::make_reply(code, text + tag(r));
}

// 400 ErrorInvalidRecipients: 5.1.3 when Graph says the address is malformed,
// 5.1.1 (no such recipient) otherwise.
bool recipient_syntax(const SendResult& r) {
  return has(r.graph_message, "syntax") || has(r.graph_message, "format") || has(r.graph_message, "not a valid smtp");
}

void map_error(SendResult& r, std::string_view mailbox, bool sending) {
  using K = SendResult::Kind;
  const int s = r.http_status;
  const std::string& code = r.graph_code;
  const std::string what = sending ? "Microsoft Graph refused the message" : "Microsoft Graph refused the request";
  if (s == 401) {
    set(r, K::unauthorized, 454, "4.7.0 Microsoft Graph did not accept the relay's token; try again later");
  } else if (s == 413 || code == "ErrorMessageSizeExceeded") {
    set(r, K::permanent, 552, "5.3.4 Message too big for Microsoft Graph's request limit");
  } else if (s == 429 || s == 503) {
    set(r, K::temporary, 451, "4.7.0 Microsoft Graph is throttling requests for this mailbox; try again later");
  } else if (code.empty() && s != 408 && s < 500) {
    // A 4xx without Graph's JSON error body did not come from Graph: a
    // TLS-inspecting proxy, a WAF or a front door answered (an HTML 403 or
    // 404). Bouncing a spooled message on that would lose it for a network
    // problem the admin can fix: retry instead.
    set(r, K::temporary, 451,
        "4.4.0 HTTP " + std::to_string(s) +
            " from the Graph endpoint without a Graph error (a proxy or firewall on the way?); try again later");
  } else if (s == 403 && code == "ErrorSendAsDenied") {
    // Exchange's own 5.7.60: the From: header names an address the mailbox
    // has no SendAs right on (the app's right to the mailbox is fine).
    set(r, K::permanent, 550,
        fmt::format("5.7.60 Microsoft Graph refused the From address: {} may not send as it (grant SendAs on that "
                    "address, or let the relay rewrite the sender)",
                    mailbox));
  } else if (s == 403) {
    set(r, K::permanent, 550,
        fmt::format("5.7.60 Microsoft Graph refused to act as {}: the app may not send as this mailbox (it needs the "
                    "Mail.Send application permission, or the mailbox in its RBAC for Applications scope)",
                    mailbox));
  } else if (s == 404) {
    set(r, K::permanent, 550,
        fmt::format("5.1.8 Mailbox {} not found in the tenant by Microsoft Graph (check the user's mailbox)", mailbox));
  } else if (s == 400 && code == "ErrorInvalidRecipients") {
    set(r, K::permanent, 550,
        recipient_syntax(r) ? "5.1.3 " + what + ": a recipient address is not valid"
                            : "5.1.1 " + what + ": a recipient was not accepted");
  } else if (s == 400) {
    set(r, K::permanent, 554, "5.6.0 " + what + " as invalid content");
  } else if (s == 408 || s >= 500) {
    set(r, K::temporary, 451, "4.4.0 Microsoft Graph failed (HTTP " + std::to_string(s) + "); try again later");
  } else {
    // 405, 409, 415...: Graph will answer the same request the same way.
    set(r, K::permanent, 554, "5.3.0 " + what + " (HTTP " + std::to_string(s) + ")");
  }
}

SendResult map(const HttpAnswer& a, std::string_view mailbox, std::chrono::system_clock::time_point now,
               bool sending) {
  using K = SendResult::Kind;
  SendResult r;
  r.http_status = a.status;
  r.request_id = one_line(a.request_id, 100);
  if (a.status == 0) {
    if (a.source_short) {
      r.detail = "the message could not be read to its end; nothing was sent";
      set(r, K::temporary, 451, "4.3.0 Local error reading the message; try again later");
    } else {
      r.detail = a.stopped ? "the relay is stopping" : "no answer from Microsoft Graph: " + one_line(a.transport_error, 300);
      set(r, K::temporary, 451,
          a.stopped ? "4.3.2 The relay is stopping; try again later"
                    : "4.4.2 No answer from Microsoft Graph; try again later");
    }
    return r;
  }
  // sendMail answers 202 and nothing else when it took the message; any
  // other 2xx (a gateway or a wrong endpoint answering 200 to anything) is
  // not Graph's acceptance, and a 250 on it could lose the message.
  const bool accepted = sending ? a.status == 202 : a.status >= 200 && a.status < 300;
  if (!accepted && a.status >= 200 && a.status < 300) {
    r.detail = fmt::format("HTTP {} instead of 202 Accepted: not Microsoft Graph's answer to sendMail", a.status);
    set(r, K::temporary, 451, "4.4.0 Unexpected answer from the Microsoft Graph endpoint; try again later");
    return r;
  }
  if (accepted) {
    r.detail = fmt::format("HTTP {}", a.status);
    if (!r.request_id.empty()) r.detail += " request-id=" + r.request_id;
    set(r, K::accepted, 250,
        sending ? "2.0.0 OK: queued by Microsoft Graph" : "2.1.0 Mailbox found by Microsoft Graph");
    return r;
  }
  const GraphError e = parse_error_body(a.body);
  r.graph_code = e.code;
  r.graph_message = e.message;
  if (a.status == 429 || a.status == 503) r.retry_after = parse_retry_after(a.retry_after, now);
  map_error(r, mailbox, sending);
  r.detail = fmt::format("HTTP {}", a.status);
  if (!r.graph_code.empty()) r.detail += " " + r.graph_code;
  if (!r.graph_message.empty()) r.detail += ": " + r.graph_message;
  if (r.retry_after) r.detail += fmt::format(" retry_after={}s", r.retry_after->count());
  if (!r.request_id.empty()) r.detail += " request-id=" + r.request_id;
  return r;
}

}  // namespace

SendResult map_send_mail(const HttpAnswer& answer, std::string_view mailbox, std::chrono::system_clock::time_point now) {
  return map(answer, mailbox, now, true);
}

SendResult map_get_user(const HttpAnswer& answer, std::string_view mailbox, std::chrono::system_clock::time_point now) {
  return map(answer, mailbox, now, false);
}

}  // namespace xr::graph
