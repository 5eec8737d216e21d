// The From: rewrite for `rewrite_sender: {from_header: true}`: header block
// only, streamed, and the same result however the bytes are split.
#include "protocols/from_header_rewrite.hpp"

#include <doctest/doctest.h>

#include <string>

using xr::smtp::FromHeaderRewriter;

namespace {

bool contoso_only(std::string_view a) { return a.size() > 12 && a.substr(a.size() - 12) == "@contoso.com"; }

// Runs the rewriter over `msg` whole, split at every byte, and byte by byte;
// all three must agree. Returns the whole-feed result.
std::string rewrite(const std::string& msg, bool reply_to = false, std::string* replaced = nullptr) {
  auto run = [&](std::size_t piece) {
    FromHeaderRewriter r("scanner@contoso.com", reply_to, contoso_only);
    std::string out;
    for (std::size_t i = 0; i < msg.size(); i += piece) r.feed(std::string_view(msg).substr(i, piece), out);
    r.finish(out);
    if (replaced) *replaced = r.replaced();
    return out;
  };
  const std::string whole = run(msg.size() ? msg.size() : 1);
  CHECK(run(1) == whole);
  for (std::size_t cut = 1; cut < msg.size(); ++cut) {
    FromHeaderRewriter r("scanner@contoso.com", reply_to, contoso_only);
    std::string out;
    r.feed(std::string_view(msg).substr(0, cut), out);
    r.feed(std::string_view(msg).substr(cut), out);
    r.finish(out);
    CAPTURE(cut);
    CHECK(out == whole);
  }
  return whole;
}

}  // namespace

TEST_CASE("From: with a display name keeps the name, the address becomes the mailbox") {
  std::string replaced;
  CHECK(rewrite("From: \"Scanner 3F\" <scanner@printer.local>\r\nSubject: scan\r\n\r\nbody\r\n", false, &replaced) ==
        "From: \"Scanner 3F\" <scanner@contoso.com>\r\nSubject: scan\r\n\r\nbody\r\n");
  CHECK(replaced == "scanner@printer.local");
}

TEST_CASE("a bare address, a folded field, and an odd spelling of the name") {
  CHECK(rewrite("Subject: x\r\nfrom:scanner@printer.local\r\n\r\n") ==
        "Subject: x\r\nFrom: scanner@contoso.com\r\n\r\n");
  CHECK(rewrite("FROM : Scanner\r\n <scanner@printer.local>\r\nTo: a@b.c\r\n\r\nx\r\n") ==
        "From: Scanner <scanner@contoso.com>\r\nTo: a@b.c\r\n\r\nx\r\n");
}

TEST_CASE("an allowed From stays byte for byte, folding included") {
  const std::string msg = "From: Ops\r\n\t<ops@contoso.com>\r\nSubject: y\r\n\r\nFrom: not a header\r\n";
  std::string replaced = "unset";
  CHECK(rewrite(msg, true, &replaced) == msg);
  CHECK(replaced.empty());
}

TEST_CASE("Reply-To keeps the original, unless the message has one") {
  CHECK(rewrite("From: Scan <scanner@printer.local>\r\nSubject: s\r\n\r\nbody\r\n", true) ==
        "From: Scan <scanner@contoso.com>\r\nSubject: s\r\nReply-To: Scan <scanner@printer.local>\r\n\r\nbody\r\n");
  CHECK(rewrite("Reply-To: desk@printer.local\r\nFrom: scanner@printer.local\r\n\r\nbody\r\n", true) ==
        "Reply-To: desk@printer.local\r\nFrom: scanner@contoso.com\r\n\r\nbody\r\n");
}

TEST_CASE("the body is never touched, and a message without a header block passes as is") {
  CHECK(rewrite("Subject: a\r\n\r\nFrom: scanner@printer.local\r\n") ==
        "Subject: a\r\n\r\nFrom: scanner@printer.local\r\n");
  CHECK(rewrite("just text, no fields\r\nFrom: scanner@printer.local\r\n") ==
        "just text, no fields\r\nFrom: scanner@printer.local\r\n");
  // Headers only, no blank line: the rewrite and Reply-To still happen.
  CHECK(rewrite("From: scanner@printer.local\r\n", true) ==
        "From: scanner@contoso.com\r\nReply-To: scanner@printer.local\r\n");
}

TEST_CASE("an absurdly long header line stops the rewriting and loses nothing") {
  const std::string long_line = "X-Long: " + std::string(FromHeaderRewriter::kMaxHeaderLine + 10, 'a') + "\r\n";
  const std::string msg = "From: scanner@printer.local\r\n" + long_line + "\r\nbody\r\n";
  FromHeaderRewriter r("scanner@contoso.com", false, contoso_only);
  std::string out;
  r.feed(msg, out);
  r.finish(out);
  // The From field before the long line was complete: it was rewritten.
  CHECK(out == "From: scanner@contoso.com\r\n" + long_line + "\r\nbody\r\n");
}
