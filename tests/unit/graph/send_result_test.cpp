// Every row of the Graph -> SMTP mapping, and what the texts never hold.
#include "graph/send_result.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace xr::graph;
using K = SendResult::Kind;

namespace {

const auto kNow = std::chrono::system_clock::time_point{} + std::chrono::hours(24 * 365 * 56);

HttpAnswer answer(int status, std::string code = "", std::string message = "") {
  HttpAnswer a;
  a.status = status;
  a.request_id = "0f1e2d3c-aaaa-4bbb-8ccc-000000000001";
  if (!code.empty())
    a.body = R"({"error":{"code":")" + code + R"(","message":")" + message + R"("}})";
  return a;
}

SendResult send(const HttpAnswer& a) { return map_send_mail(a, "scan@contoso.com", kNow); }

bool has(const std::string& s, const std::string& needle) { return s.find(needle) != std::string::npos; }

}  // namespace

TEST_CASE("graph mapping: 202 is 250, naming Graph and the request id") {
  auto r = send(answer(202));
  CHECK(r.kind == K::accepted);
  CHECK(r.reply.code == 250);
  CHECK(r.reply.enhanced() == "2.0.0");
  CHECK(has(r.reply.summary(), "Microsoft Graph"));
  CHECK(has(r.reply.summary(), "request-id 0f1e2d3c-aaaa-4bbb-8ccc-000000000001"));
  CHECK(has(r.detail, "request-id=0f1e2d3c"));
}

TEST_CASE("graph mapping: ErrorSendAsDenied is 550 5.7.60 about the From address") {
  auto r = send(answer(403, "ErrorSendAsDenied", "The user account which was used to submit this request does not "
                                                 "have the right to send mail on behalf of the specified sending account."));
  CHECK(r.kind == K::permanent);
  CHECK(r.reply.code == 550);
  CHECK(r.reply.enhanced() == "5.7.60");
  CHECK(has(r.reply.summary(), "refused the From address: scan@contoso.com may not send as it"));
  CHECK(has(r.reply.summary(), "ErrorSendAsDenied"));
}

TEST_CASE("graph mapping: any other 403 is 550 5.7.60, saying the app may not send as the mailbox") {
  for (const char* code : {"ErrorAccessDenied", "Authorization_RequestDenied", "AccessDenied"}) {
    auto r = send(answer(403, code, "Access is denied."));
    CHECK(r.kind == K::permanent);
    CHECK(r.reply.code == 550);
    CHECK(r.reply.enhanced() == "5.7.60");
    CHECK(has(r.reply.summary(), "may not send as this mailbox"));
    CHECK(has(r.reply.summary(), "Mail.Send"));
    CHECK(has(r.reply.summary(), "RBAC for Applications"));
    CHECK(r.graph_code == code);
    CHECK(has(r.reply.summary(), code));
  }
}

TEST_CASE("graph mapping: invalid recipients are 550 5.1.1, or 5.1.3 for a malformed address") {
  auto r = send(answer(400, "ErrorInvalidRecipients", "At least one recipient is not valid."));
  CHECK(r.kind == K::permanent);
  CHECK(r.reply.code == 550);
  CHECK(r.reply.enhanced() == "5.1.1");
  auto s = send(answer(400, "ErrorInvalidRecipients", "Recipient 'x@' is not a valid SMTP address."));
  CHECK(s.reply.enhanced() == "5.1.3");
}

TEST_CASE("graph mapping: bad base64 and other 400s are 554 5.6.0") {
  for (const char* code : {"ErrorMimeContentInvalidBase64String", "ErrorInvalidRequest"}) {
    auto r = send(answer(400, code, "Invalid base64 string for MIME content."));
    CHECK(r.kind == K::permanent);
    CHECK(r.reply.code == 554);
    CHECK(r.reply.enhanced() == "5.6.0");
  }
}

TEST_CASE("graph mapping: 404 (the sending mailbox is unknown) is 550 5.1.8") {
  for (const char* code : {"ErrorInvalidUser", "ResourceNotFound", "MailboxNotEnabledForRESTAPI"}) {
    auto r = send(answer(404, code, "The requested user 'scan@contoso.com' is invalid."));
    CHECK(r.kind == K::permanent);
    CHECK(r.reply.code == 550);
    CHECK(r.reply.enhanced() == "5.1.8");
    CHECK(has(r.reply.summary(), "scan@contoso.com"));
  }
}

TEST_CASE("graph mapping: 413 or ErrorMessageSizeExceeded is 552 5.3.4") {
  for (auto a : {answer(413), answer(400, "ErrorMessageSizeExceeded", "too big")}) {
    auto r = send(a);
    CHECK(r.kind == K::permanent);
    CHECK(r.reply.code == 552);
    CHECK(r.reply.enhanced() == "5.3.4");
  }
}

TEST_CASE("graph mapping: 429 and 503 are 451 4.7.0 with Retry-After") {
  for (int status : {429, 503}) {
    auto a = answer(status, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.");
    a.retry_after = "17";
    auto r = send(a);
    CHECK(r.kind == K::temporary);
    CHECK(r.reply.code == 451);
    CHECK(r.reply.enhanced() == "4.7.0");
    REQUIRE(r.retry_after);
    CHECK(r.retry_after->count() == 17);
    CHECK(has(r.detail, "retry_after=17s"));
  }
  CHECK_FALSE(send(answer(429)).retry_after);  // none sent: the caller's schedule applies
  auto other = answer(500);
  other.retry_after = "17";
  CHECK_FALSE(send(other).retry_after);  // only throttling answers are honoured
}

TEST_CASE("graph mapping: other 5xx and 408 are 451 4.4.0") {
  for (int status : {500, 502, 504, 408}) {
    auto r = send(answer(status));
    CHECK(r.kind == K::temporary);
    CHECK(r.reply.code == 451);
    CHECK(r.reply.enhanced() == "4.4.0");
  }
}

TEST_CASE("graph mapping: other 4xx with Graph's error body are permanent 554 5.3.0") {
  for (int status : {405, 409, 415}) {
    auto r = send(answer(status, "ErrorInvalidRequest", "Unsupported."));
    CHECK(r.kind == K::permanent);
    CHECK(r.reply.code == 554);
    CHECK(r.reply.enhanced() == "5.3.0");
  }
}

TEST_CASE("graph mapping: no response is 451 4.4.2; a stop 4.3.2; an unreadable message 4.3.0") {
  HttpAnswer a;
  a.transport_error = "Failed to connect to graph.microsoft.com port 443: Connection refused";
  auto r = send(a);
  CHECK(r.kind == K::temporary);
  CHECK(r.http_status == 0);
  CHECK(r.reply.code == 451);
  CHECK(r.reply.enhanced() == "4.4.2");
  CHECK(has(r.detail, "Connection refused"));
  a.stopped = true;
  CHECK(send(a).reply.enhanced() == "4.3.2");
  HttpAnswer short_source;
  short_source.source_short = true;
  CHECK(send(short_source).reply.enhanced() == "4.3.0");
  CHECK(send(short_source).kind == K::temporary);
}

TEST_CASE("graph mapping: 401 asks for a token refresh, replying 454 4.7.0") {
  auto r = send(answer(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid."));
  CHECK(r.kind == K::unauthorized);
  CHECK(r.reply.code == 454);
  CHECK(r.reply.enhanced() == "4.7.0");
}

TEST_CASE("graph mapping: replies are one line; Graph's text stays in the log detail") {
  auto r = send(answer(403, "ErrorSendAsDenied", "first\\r\\n250 2.0.0 fake"));
  CHECK(r.reply.lines.size() == 1);
  CHECK_FALSE(has(r.reply.wire().substr(0, r.reply.wire().size() - 2), "\r"));
  CHECK(r.graph_message == "first 250 2.0.0 fake");
  CHECK(has(r.detail, "HTTP 403 ErrorSendAsDenied: first 250 2.0.0 fake"));
  auto hostile = answer(202);
  hostile.request_id = "id\r\n250 injected";
  CHECK(send(hostile).reply.lines.size() == 1);
}

TEST_CASE("graph mapping: get_user 200 is found, 404 is 5.1.8, 403 is refused") {
  auto ok = map_get_user(answer(200), "scan@contoso.com", kNow);
  CHECK(ok.kind == K::accepted);
  auto missing = map_get_user(answer(404, "Request_ResourceNotFound", "Resource does not exist."), "scan@contoso.com", kNow);
  CHECK(missing.reply.enhanced() == "5.1.8");
  CHECK(missing.graph_code == "Request_ResourceNotFound");
  auto denied = map_get_user(answer(403, "ErrorAccessDenied", "Access is denied."), "scan@contoso.com", kNow);
  CHECK(denied.kind == K::permanent);
  CHECK(denied.http_status == 403);
}

TEST_CASE("graph mapping: a 4xx without Graph's error body is temporary (a proxy or firewall answered)") {
  for (int status : {400, 403, 404, 405, 409}) {
    HttpAnswer a = answer(status);
    a.body = "<html><body>Access denied by policy</body></html>";
    auto r = send(a);
    CHECK(r.kind == K::temporary);
    CHECK(r.reply.code == 451);
    CHECK(r.reply.enhanced() == "4.4.0");
  }
  // 413 stays permanent: whoever answered it, the same body will not pass.
  CHECK(send(answer(413)).kind == K::permanent);
}

TEST_CASE("graph mapping: sendMail is accepted only on 202, never on another 2xx") {
  for (int status : {200, 201, 204}) {
    auto r = send(answer(status));
    CHECK(r.kind == K::temporary);
    CHECK(r.reply.code == 451);
  }
  CHECK(send(answer(202)).kind == K::accepted);
  CHECK(map_get_user(answer(200), "scan@contoso.com", kNow).kind == K::accepted);
}
