// The header guard: one From: field, one address, inside `senders` (or
// rewritten with from_header), a capped header block; streamed, and the same
// verdict and bytes however the input is split.
#include "protocols/header_guard.hpp"

#include <doctest/doctest.h>

#include <string>

using xr::smtp::HeaderGuard;
using xr::smtp::HeaderGuardOptions;

namespace {

bool contoso_only(std::string_view a) { return a.size() > 12 && a.substr(a.size() - 12) == "@contoso.com"; }

struct Run {
  std::string out;
  std::string reason;  // "" = passed
  std::string reply;
  std::string replaced;
  bool reply_to_added = false;
};

HeaderGuardOptions options(bool rewrite = false, bool reply_to = false, std::size_t max = 1024 * 1024) {
  HeaderGuardOptions o;
  o.max_header_size = max;
  o.allowed = contoso_only;
  o.rewrite = rewrite;
  o.mailbox = "scanner@contoso.com";
  o.keep_reply_to = reply_to;
  return o;
}

// As the SMTP session drives it: once passing(), pieces go on without it.
void shell_feed(HeaderGuard& g, std::string_view piece, std::string& out) {
  if (g.passing()) out.append(piece);
  else if (!g.refused()) g.feed(piece, out);
}

Run feed_pieces(const HeaderGuardOptions& o, const std::string& msg, std::size_t first, std::size_t piece) {
  HeaderGuard g(o);
  Run r;
  if (first) shell_feed(g, std::string_view(msg).substr(0, first), r.out);
  for (std::size_t i = first; i < msg.size(); i += piece) shell_feed(g, std::string_view(msg).substr(i, piece), r.out);
  g.finish(r.out);
  if (g.refused()) {
    r.reason = g.reason();
    r.reply = g.reply().summary();
  }
  r.replaced = g.replaced();
  r.reply_to_added = g.reply_to_added();
  return r;
}

// Whole, byte by byte, and split at every offset: all must agree (for a
// refused message the bytes passed on before the refusal may differ with the
// split, which is fine: the caller drops the message).
Run guard(const std::string& msg, const HeaderGuardOptions& o = options()) {
  const Run whole = feed_pieces(o, msg, 0, msg.size() ? msg.size() : 1);
  auto same = [&](const Run& r) {
    CHECK(r.reason == whole.reason);
    if (whole.reason.empty()) CHECK(r.out == whole.out);
    CHECK(r.replaced == whole.replaced);
  };
  same(feed_pieces(o, msg, 0, 1));
  for (std::size_t cut = 1; cut < msg.size(); ++cut) {
    CAPTURE(cut);
    same(feed_pieces(o, msg, cut, msg.size()));
  }
  return whole;
}

std::string refused(const std::string& msg, const HeaderGuardOptions& o = options()) {
  const Run r = guard(msg, o);
  CAPTURE(msg);
  CHECK_FALSE(r.reason.empty());
  return r.reason;
}

}  // namespace

TEST_CASE("an allowed From passes byte for byte, folding included; the body is never read") {
  const std::string msg = "From: Ops\r\n\t<ops@contoso.com>\r\nSubject: y\r\n\r\nFrom: ceo@evil.example\r\n";
  const Run r = guard(msg);
  CHECK(r.reason.empty());
  CHECK(r.out == msg);
  CHECK(r.replaced.empty());
  CHECK(guard("Subject: x\r\nfrom:scanner@contoso.com\r\n\r\n").out == "Subject: x\r\nfrom:scanner@contoso.com\r\n\r\n");
  // Headers only, no blank line (judged at finish).
  CHECK(guard("From: scanner@contoso.com\r\n").out == "From: scanner@contoso.com\r\n");
}

TEST_CASE("each refusal names its reason and reply") {
  const Run no_from = guard("Subject: x\r\n\r\nbody\r\n");
  CHECK(no_from.reason == "no_from");
  CHECK(no_from.reply == "550 5.7.1 Message has no From: header");
  CHECK(refused("") == "no_from");
  CHECK(refused("\r\nFrom: scanner@contoso.com\r\n") == "no_from");  // in the body
  const Run two = guard("From: scanner@contoso.com\r\nSubject: x\r\nFROM: ops@contoso.com\r\n\r\n");
  CHECK(two.reason == "several_from");
  CHECK(two.reply == "550 5.7.1 Message has more than one From: header");
  const Run list = guard("From: ceo@evil.example, <scanner@contoso.com>\r\n\r\n");
  CHECK(list.reason == "several_addresses");
  CHECK(list.reply == "550 5.7.1 From: header holds more than one address");
  const Run foreign = guard("From: ceo@evil.example\r\n\r\n");
  CHECK(foreign.reason == "sender_not_allowed");
  CHECK(foreign.reply == "550 5.7.1 From: address not allowed for this login");
  CHECK(refused("From: <>\r\n\r\n") == "no_address");
  CHECK(refused("From:\r\n\r\n") == "no_address");
  CHECK(refused("From: <scanner@contoso.com> ceo@evil.example\r\n\r\n") == "unparsable_from");
  CHECK(guard("From: <scanner@contoso.com> ceo@evil.example\r\n\r\n").reply ==
        "550 5.7.1 From: header address cannot be parsed");
}

TEST_CASE("comments, display names, quoted strings and encoded words never pass for the address") {
  CHECK(refused("From: \"scanner@contoso.com\" <ceo@evil.example>\r\n\r\n") == "sender_not_allowed");
  CHECK(refused("From: ceo@evil.example (scanner@contoso.com)\r\n\r\n") == "sender_not_allowed");
  CHECK(refused("From: scanner@contoso.com <ceo@evil.example>\r\n\r\n") == "sender_not_allowed");
  CHECK(refused("From: =?utf-8?q?scanner=40contoso.com?= <ceo@evil.example>\r\n\r\n") == "sender_not_allowed");
  CHECK(refused("From: \"scanner@contoso.com\"@evil.example\r\n\r\n") == "sender_not_allowed");
  CHECK(refused("From: team: scanner@contoso.com;\r\n\r\n") == "several_addresses");
  CHECK(refused("From: team: ceo@evil.example, scanner@contoso.com;\r\n\r\n") == "several_addresses");
  // Folded lines are unfolded before parsing: the list is seen.
  CHECK(refused("From: ceo@evil.example,\r\n <scanner@contoso.com>\r\n\r\n") == "several_addresses");
  CHECK(refused("From: ceo@evil.example\r\n (scanner@contoso.com)\r\n\r\n") == "sender_not_allowed");
}

TEST_CASE("a header block line that is not a field is refused, not taken for the body") {
  // Else "garbage" would end the header block for us and not for a lenient
  // reader, who would then see the second From.
  CHECK(refused("From: scanner@contoso.com\r\ngarbage\r\nFrom: ceo@evil.example\r\n\r\n") == "malformed_header");
  CHECK(refused("just text, no fields\r\n") == "malformed_header");
  CHECK(refused(" folded first\r\nFrom: scanner@contoso.com\r\n\r\n") == "malformed_header");
  CHECK(refused(": no name\r\nFrom: scanner@contoso.com\r\n\r\n") == "malformed_header");
  const Run r = guard("From: scanner@contoso.com\r\nno colon here\r\n\r\n");
  CHECK(r.reply == "550 5.6.0 Malformed message header");
}

TEST_CASE("the header block is capped, folded From lines included; the body is not counted") {
  const std::string head = "From: scanner@contoso.com\r\nSubject: x\r\n\r\n";  // 40 bytes
  CHECK(guard(head + std::string(500, 'b') + "\r\n", options(false, false, head.size())).reason.empty());
  const Run big = guard(head, options(false, false, head.size() - 1));
  CHECK(big.reason == "header_too_large");
  CHECK(big.reply == "552 5.3.4 Message header too large");
  std::string folded = "From: scanner@contoso.com";
  for (int i = 0; i < 100; ++i) folded += "\r\n (fold)";
  CHECK(refused(folded + "\r\n\r\n", options(false, false, 256)) == "header_too_large");
  // A line without its LF cannot pile up either.
  HeaderGuard g(options(false, false, 64));
  std::string out;
  for (int i = 0; i < 100 && !g.refused(); ++i) g.feed("X-Long: aaaaaaaaaa", out);
  CHECK(g.reason() == "header_too_large");
}

TEST_CASE("from_header: a foreign From is rewritten, the display name kept") {
  const auto rw = options(true);
  Run r = guard("From: \"Scanner 3F\" <scanner@printer.local>\r\nSubject: scan\r\n\r\nbody\r\n", rw);
  CHECK(r.out == "From: \"Scanner 3F\" <scanner@contoso.com>\r\nSubject: scan\r\n\r\nbody\r\n");
  CHECK(r.replaced == "scanner@printer.local");
  CHECK(guard("Subject: x\r\nfrom:scanner@printer.local\r\n\r\n", rw).out ==
        "Subject: x\r\nFrom: scanner@contoso.com\r\n\r\n");
  CHECK(guard("FROM : Scanner\r\n <scanner@printer.local>\r\nTo: a@b.c\r\n\r\nx\r\n", rw).out ==
        "From: Scanner <scanner@contoso.com>\r\nTo: a@b.c\r\n\r\nx\r\n");
  // A comment that holds an allowed address does not save the real one.
  CHECK(guard("From: ceo@evil.example (scanner@contoso.com)\r\n\r\n", rw).out == "From: scanner@contoso.com\r\n\r\n");
  // An allowed From is left alone.
  const std::string own = "From: Ops <ops@contoso.com>\r\n\r\n";
  CHECK(guard(own, rw).out == own);
  // Missing or empty: the mailbox is the sender.
  r = guard("Subject: s\r\n\r\nbody\r\n", rw);
  CHECK(r.out == "Subject: s\r\nFrom: scanner@contoso.com\r\n\r\nbody\r\n");
  CHECK(r.replaced == "<>");
  CHECK(guard("From: <>\r\n\r\n", rw).out == "From: <scanner@contoso.com>\r\n\r\n");
}

TEST_CASE("from_header: several From fields or addresses are refused all the same") {
  const auto rw = options(true);
  CHECK(refused("From: a@printer.local\r\nFrom: b@printer.local\r\n\r\n", rw) == "several_from");
  CHECK(refused("From: scanner@contoso.com\r\nFrom: scanner@contoso.com\r\n\r\n", rw) == "several_from");
  CHECK(refused("From: ceo@evil.example, <scanner@contoso.com>\r\n\r\n", rw) == "several_addresses");
  CHECK(refused("From: team: a@printer.local;\r\n\r\n", rw) == "several_addresses");
  CHECK(refused("From: <a@printer.local> b\r\n\r\n", rw) == "unparsable_from");
  CHECK(refused("From: a@printer.local\r\n\r\n", options(true, false, 10)) == "header_too_large");
}

TEST_CASE("from_header with reply_to: the original goes to Reply-To unless the message has one") {
  const auto rr = options(true, true);
  Run r = guard("From: Scan <scanner@printer.local>\r\nSubject: s\r\n\r\nbody\r\n", rr);
  CHECK(r.out == "From: Scan <scanner@contoso.com>\r\nSubject: s\r\nReply-To: Scan <scanner@printer.local>\r\n\r\nbody\r\n");
  CHECK(r.reply_to_added);
  CHECK(guard("Reply-To: desk@printer.local\r\nFrom: scanner@printer.local\r\n\r\nbody\r\n", rr).out ==
        "Reply-To: desk@printer.local\r\nFrom: scanner@contoso.com\r\n\r\nbody\r\n");
  // Headers only, no blank line: the rewrite and Reply-To still happen.
  CHECK(guard("From: scanner@printer.local\r\n", rr).out ==
        "From: scanner@contoso.com\r\nReply-To: scanner@printer.local\r\n");
  // Nothing to keep from an empty From.
  r = guard("From: <>\r\n\r\n", rr);
  CHECK(r.out == "From: <scanner@contoso.com>\r\n\r\n");
  CHECK_FALSE(r.reply_to_added);
}

TEST_CASE("after a refusal nothing more is passed on") {
  HeaderGuard g(options());
  std::string out;
  g.feed("From: a@contoso.com\r\nFrom: b@contoso.com\r\n", out);
  REQUIRE(g.refused());
  const std::size_t before = out.size();
  g.feed("Subject: x\r\n\r\nbody\r\n", out);
  g.finish(out);
  CHECK(out.size() == before);
  CHECK(g.reason() == "several_from");
}

TEST_CASE("passing(): only once the header block ended and was accepted") {
  HeaderGuard g(options());
  std::string out;
  g.feed("From: a@contoso.com\r\nSubject: x\r\n", out);
  CHECK_FALSE(g.passing());
  g.feed("\r\nbody", out);
  CHECK(g.passing());
  CHECK(out == "From: a@contoso.com\r\nSubject: x\r\n\r\nbody");

  HeaderGuard refused(options());
  refused.feed("From: a@fabrikam.com\r\n\r\nbody", out);
  CHECK(refused.refused());
  CHECK_FALSE(refused.passing());
}
