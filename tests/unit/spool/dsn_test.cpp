#include "spool/dsn.hpp"
#include "spool/queue_id.hpp"
#include "tests/unit/spool/spool_test_support.hpp"

#include <doctest/doctest.h>

#include <map>

using namespace xr::spool;

namespace {

struct Part {
  std::map<std::string, std::string> headers;  // lower-case name -> unfolded value
  std::string body;
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Headers and body of an RFC 5322 text (CRLF only), unfolded.
Part parse_part(const std::string& text) {
  Part p;
  auto end = text.find("\r\n\r\n");
  REQUIRE(end != std::string::npos);
  std::string head = text.substr(0, end + 2);
  p.body = text.substr(end + 4);
  std::string name;
  std::size_t pos = 0;
  while (pos < head.size()) {
    auto eol = head.find("\r\n", pos);
    std::string line = head.substr(pos, eol - pos);
    pos = eol + 2;
    if (line[0] == ' ' || line[0] == '\t') {
      p.headers[name] += line;
      continue;
    }
    auto colon = line.find(':');
    REQUIRE(colon != std::string::npos);
    name = lower(line.substr(0, colon));
    auto v = line.substr(colon + 1);
    p.headers[name] = v.substr(v.find_first_not_of(' '));
  }
  return p;
}

struct Report {
  Part top;
  std::string boundary;
  std::vector<Part> parts;
};

Report parse_report(const std::string& dsn) {
  Report r;
  r.top = parse_part(dsn);
  const std::string& ct = r.top.headers["content-type"];
  auto b = ct.find("boundary=\"");
  REQUIRE(b != std::string::npos);
  r.boundary = ct.substr(b + 10, ct.find('"', b + 10) - b - 10);
  const std::string delim = "\r\n--" + r.boundary;
  std::string body = "\r\n" + r.top.body;
  auto at = body.find(delim);
  REQUIRE(at != std::string::npos);
  for (;;) {
    auto start = at + delim.size();
    if (body.compare(start, 2, "--") == 0) {
      CHECK(body.substr(start + 2) == "\r\n");  // nothing after the close delimiter
      break;
    }
    REQUIRE(body.compare(start, 2, "\r\n") == 0);
    auto next = body.find(delim, start);
    REQUIRE(next != std::string::npos);
    r.parts.push_back(parse_part(body.substr(start + 2, next - start - 2)));
    at = next;
  }
  return r;
}

DsnRequest request(const std::string& headers) {
  DsnRequest r;
  r.reporting_mta = "relay.contoso.local";
  r.original = test::envelope("0123456789ABCDEF0123", 2);
  r.original_headers = headers;
  r.failed = {{"user0@contoso.com", "5.1.1", "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found"},
              {"user1@contoso.com", "5.7.1", "550 5.7.1 Delivery not authorized"}};
  r.now_ms = r.original.received_ms + 3600 * 1000;
  r.to = "mfp@printers.local";
  return r;
}

void check_lines(const std::string& dsn) {
  std::size_t pos = 0;
  while (pos < dsn.size()) {
    auto eol = dsn.find('\n', pos);
    REQUIRE(eol != std::string::npos);  // ends with a line end
    CHECK(eol > pos);
    CHECK(dsn[eol - 1] == '\r');  // no bare LF
    CHECK(eol - 1 - pos <= 998);
    pos = eol + 1;
  }
  for (std::size_t i = 0; i < dsn.size(); ++i)
    if (dsn[i] == '\r') CHECK((i + 1 < dsn.size() && dsn[i + 1] == '\n'));  // no bare CR
}

const std::string kHeaders =
    "From: mfp@printers.local\r\nTo: user0@contoso.com\r\nSubject: Scan from MFP\r\n"
    "Message-ID: <scan-1@printer>\r\nDate: Thu, 01 Jan 2026 00:00:00 +0000\r\n\r\n";

}  // namespace

TEST_CASE("build_dsn makes a multipart/report the way RFC 3464 says") {
  auto req = request(kHeaders);
  std::string dsn = build_dsn(req);
  check_lines(dsn);
  auto r = parse_report(dsn);
  CHECK(r.top.headers["from"] == "\"Mail Delivery System\" <scanner@contoso.com>");
  CHECK(r.top.headers["to"] == "<mfp@printers.local>");
  CHECK(r.top.headers["subject"] == "Undeliverable: Scan from MFP");
  CHECK(r.top.headers["auto-submitted"] == "auto-replied");
  CHECK(r.top.headers["mime-version"] == "1.0");
  CHECK(r.top.headers["date"] == "Thu, 01 Jan 2026 01:00:00 +0000");
  CHECK(r.top.headers["message-id"] == "<0123456789ABCDEF0123B@relay.contoso.local>");
  CHECK(r.top.headers["content-type"].find("multipart/report; report-type=delivery-status;") == 0);
  CHECK(dsn.find(r.boundary) != std::string::npos);
  for (const auto& p : r.parts) CHECK(p.body.find(r.boundary) == std::string::npos);

  REQUIRE(r.parts.size() == 3);
  CHECK(r.parts[0].headers["content-type"].find("text/plain") == 0);
  CHECK(r.parts[1].headers["content-type"] == "message/delivery-status");
  CHECK(r.parts[2].headers["content-type"] == "text/rfc822-headers");

  const std::string& text = r.parts[0].body;
  CHECK(text.find("user0@contoso.com") != std::string::npos);
  CHECK(text.find("550 5.1.1 RESOLVER.ADR.RecipNotFound") != std::string::npos);

  const std::string& status = r.parts[1].body;
  CHECK(status.find("Reporting-MTA: dns; relay.contoso.local\r\n") == 0);
  CHECK(status.find("X-Original-Message-ID: <scan-1@printer>\r\n") != std::string::npos);
  CHECK(status.find("Arrival-Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n") != std::string::npos);
  CHECK(status.find("\r\n\r\nFinal-Recipient: rfc822;user0@contoso.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
                    "Diagnostic-Code: smtp; 550 5.1.1 RESOLVER.ADR.RecipNotFound; not found\r\n"
                    "Last-Attempt-Date: Thu, 01 Jan 2026 01:00:00 +0000\r\n") != std::string::npos);
  CHECK(status.find("Final-Recipient: rfc822;user1@contoso.com\r\nAction: failed\r\nStatus: 5.7.1\r\n") !=
        std::string::npos);

  CHECK(r.parts[2].body.find("Subject: Scan from MFP\r\nMessage-ID: <scan-1@printer>\r\n") != std::string::npos);
}

TEST_CASE("an expired message: Status 4.4.7 and a sentence saying so") {
  auto req = request(kHeaders);
  req.expired = true;
  req.now_ms = req.original.received_ms + 5LL * 24 * 3600 * 1000;
  req.failed = {{"user0@contoso.com", "4.4.7", ""}};
  std::string dsn = build_dsn(req);
  check_lines(dsn);
  auto r = parse_report(dsn);
  REQUIRE(r.parts.size() == 3);
  CHECK(r.parts[1].body.find("Status: 4.4.7\r\n") != std::string::npos);
  CHECK(r.parts[1].body.find("Diagnostic-Code") == std::string::npos);
  CHECK(r.parts[0].body.find("expired after retrying for 5 days") != std::string::npos);
}

TEST_CASE("subject: missing, folded, long; headers with long and bare-LF lines") {
  SUBCASE("missing") {
    auto r = parse_report(build_dsn(request("From: a@b\r\n\r\n")));
    CHECK(r.top.headers["subject"] == "Undeliverable: (no subject)");
    CHECK(r.parts[1].body.find("X-Original-Message-ID") == std::string::npos);
  }
  SUBCASE("folded") {
    auto r = parse_report(build_dsn(request("Subject: Scan\r\n from the\r\n\tthird floor\r\nFrom: a@b\r\n\r\n")));
    CHECK(r.top.headers["subject"] == "Undeliverable: Scan from the third floor");
  }
  SUBCASE("long, and ugly headers") {
    std::string words;
    for (int i = 0; i < 300; ++i) words += " word" + std::to_string(i);
    std::string ugly = "Subject:" + words + "\nX-Long: " + std::string(3000, 'x') + "\nFrom: a@b\n\n";
    std::string dsn = build_dsn(request(ugly));
    check_lines(dsn);
    auto r = parse_report(dsn);
    CHECK(r.top.headers["subject"] == "Undeliverable:" + words);
    REQUIRE(r.parts.size() == 3);
    CHECK(r.parts[2].body.find("From: a@b\r\n") != std::string::npos);
  }
  SUBCASE("a header that tries to inject lines") {
    auto req = request(kHeaders);
    req.failed = {{"user0@contoso.com", "5.1.1", "550 bad\r\nBcc: victim@example.com"}};
    std::string dsn = build_dsn(req);
    check_lines(dsn);
    CHECK(dsn.find("\r\nBcc:") == std::string::npos);
  }
}

TEST_CASE("dsn_envelope: the DSN's own id, from the mailbox, to one recipient, marked") {
  auto original = test::envelope("0123456789ABCDEF0123", 3);
  auto e = dsn_envelope(original, "helpdesk@contoso.com", 1767229200000);
  CHECK(e.id == dsn_id_for(original.id));
  CHECK(e.id == "0123456789ABCDEF0123B");
  CHECK(valid_queue_id(e.id));
  CHECK(e.mail_from == original.mailbox);
  CHECK(e.mailbox == original.mailbox);
  CHECK(e.tenant == original.tenant);
  REQUIRE(e.rcpts.size() == 1);
  CHECK(e.rcpts[0].address == "helpdesk@contoso.com");
  CHECK(e.is_dsn);
  CHECK(e.received_ms == 1767229200000);
}
