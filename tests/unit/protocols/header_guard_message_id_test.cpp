// The header guard notes the first Message-ID on its way through the header
// block (for event=message): folded or not, however the input is split, and
// never from the body.
#include "protocols/header_guard.hpp"

#include <doctest/doctest.h>

#include <string>

using xr::smtp::HeaderGuard;
using xr::smtp::HeaderGuardOptions;

namespace {

HeaderGuardOptions options() {
  HeaderGuardOptions o;
  o.allowed = [](std::string_view a) { return a == "scanner@contoso.com"; };
  o.mailbox = "scanner@contoso.com";
  return o;
}

// As the SMTP session drives the guard: once passing(), it is fed no more.
std::string message_id_of(const std::string& msg, std::size_t first, std::size_t piece) {
  HeaderGuard g(options());
  std::string out;
  auto feed = [&](std::string_view p) {
    if (!g.passing() && !g.refused()) g.feed(p, out);
  };
  if (first) feed(std::string_view(msg).substr(0, first));
  for (std::size_t i = first; i < msg.size(); i += piece) feed(std::string_view(msg).substr(i, piece));
  g.finish(out);
  return g.message_id();
}

// Whole, byte by byte, and cut at every offset: all must agree.
std::string message_id(const std::string& msg) {
  const std::string whole = message_id_of(msg, 0, msg.size() ? msg.size() : 1);
  CHECK(message_id_of(msg, 0, 1) == whole);
  for (std::size_t cut = 1; cut < msg.size(); ++cut) {
    CAPTURE(cut);
    CHECK(message_id_of(msg, cut, msg.size()) == whole);
  }
  return whole;
}

}  // namespace

TEST_CASE("message_id: the first Message-ID field's value, brackets kept") {
  CHECK(message_id("From: scanner@contoso.com\r\nMessage-ID: <scan-0042@printer.local>\r\n\r\nbody\r\n") ==
        "<scan-0042@printer.local>");
  CHECK(message_id("message-id:<a@b>\r\nFrom: scanner@contoso.com\r\n\r\n") == "<a@b>");
  CHECK(message_id("Message-Id :   <x@y>  \r\nFrom: scanner@contoso.com\r\n\r\n") == "<x@y>");
  // Folded: unfolded, the value after the fold kept.
  CHECK(message_id("From: scanner@contoso.com\r\nMessage-ID:\r\n <folded@host>\r\nSubject: s\r\n\r\n") ==
        "<folded@host>");
  // The first of several.
  CHECK(message_id("Message-ID: <one@h>\r\nMessage-ID: <two@h>\r\nFrom: scanner@contoso.com\r\n\r\n") == "<one@h>");
  // Bare LF line ends are CRLF by the time the guard sees them, but a value
  // is trimmed either way.
  CHECK(message_id("Message-ID: <lf@h>\nFrom: scanner@contoso.com\n\n") == "<lf@h>");
}

TEST_CASE("message_id: none in the header block is empty; the body is never looked at") {
  CHECK(message_id("From: scanner@contoso.com\r\nSubject: x\r\n\r\nMessage-ID: <body@h>\r\n").empty());
  CHECK(message_id("From: scanner@contoso.com\r\nX-Message-ID: <other@h>\r\n\r\n").empty());
  CHECK(message_id("").empty());
}

TEST_CASE("message_id: a long value is cut for the log, a refused message still says its id") {
  const std::string id = "<" + std::string(1000, 'x') + "@h>";
  const std::string got = message_id("Message-ID: " + id + "\r\nFrom: scanner@contoso.com\r\n\r\n");
  CHECK(got.size() == HeaderGuard::kMaxMessageIdLog);
  CHECK(got == id.substr(0, HeaderGuard::kMaxMessageIdLog));
  CHECK(message_id("Message-ID: <r@h>\r\nFrom: ceo@evil.example\r\n\r\n") == "<r@h>");
}
