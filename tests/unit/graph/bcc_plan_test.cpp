// The Bcc line sendMail gets, the message's own Bcc fields left out, and the
// source that joins them (both paths: a buffer, a spool file), read in
// pieces of every size.
#include "graph/bcc_prefix.hpp"
#include "graph/mime_source.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace xr;
using Strings = std::vector<std::string>;

namespace {

std::string read_all(graph::MessageSource& s, std::size_t piece) {
  std::string out, buf(piece, '\0');
  for (;;) {
    const auto n = s.read(buf.data(), buf.size());
    if (n == 0) return out;
    out.append(buf.data(), n);
  }
}

// What sendMail would read for `msg` and `envelope`, with every read size.
std::string sent(const std::string& msg, const Strings& envelope) {
  const auto plan = graph::plan_bcc(msg, true, envelope, 1024 * 1024);
  std::string first;
  for (std::size_t piece = 1; piece <= msg.size() + 20; ++piece) {
    auto src = graph::with_bcc(plan.field, plan.drop, std::make_unique<graph::BufferSource>(msg));
    const auto size = src->size();
    const std::string out = read_all(*src, piece);
    INFO("piece " << piece);
    CHECK(out.size() == size);
    if (piece == 1) first = out;
    else CHECK(out == first);
  }
  return first;
}

}  // namespace

TEST_CASE("graph bcc: the source gives the Bcc line, then the message, in pieces of any size") {
  const std::string body = "From: a@x\r\nTo: b@y\r\n\r\nhello\r\n";
  for (std::size_t piece = 1; piece <= 80; ++piece) {
    graph::PrefixSource s("Bcc: c@z\r\n", std::make_unique<graph::BufferSource>(body));
    CHECK(s.size() == 10 + body.size());
    CHECK(read_all(s, piece) == "Bcc: c@z\r\n" + body);
  }
  graph::PrefixSource none("", std::make_unique<graph::BufferSource>(body));
  CHECK(read_all(none, 7) == body);
}

TEST_CASE("graph bcc: no Bcc field in the message: our line + the device's bytes, unchanged") {
  const std::string msg = "From: a@x\r\nTo: B <b@y>\r\nCc: c@z\r\n\r\nbody: d@w\r\n";
  CHECK(sent(msg, {"b@y", "C@Z"}) == msg);
  CHECK(sent(msg, {"b@y", "d@w"}) == "Bcc: d@w\r\n" + msg);
}

TEST_CASE("graph bcc: the message's own Bcc fields are left out and their addresses join our one line") {
  const std::string msg = "From: a@x\r\nBcc: own@y,\r\n  other@y\r\nTo: b@y\r\nbcc: late@y\r\n\r\nBcc: body@y\r\n";
  const std::string want = "Bcc: d@w, own@y, other@y, late@y\r\nFrom: a@x\r\nTo: b@y\r\n\r\nBcc: body@y\r\n";
  CHECK(sent(msg, {"b@y", "d@w", "own@y"}) == want);
  // Only in the message's Bcc, every recipient named: still one line.
  CHECK(sent("Bcc: own@y\r\nTo: b@y\r\n\r\nx\r\n", {"b@y", "own@y"}) == "Bcc: own@y\r\nTo: b@y\r\n\r\nx\r\n");
  // Bare LF line ends, the field last in the header block.
  CHECK(sent("To: b@y\nBcc: own@y\n\nx\n", {"b@y"}) == "Bcc: own@y\r\nTo: b@y\n\nx\n");
}

TEST_CASE("graph bcc: an address only in a second To or Cc field goes into our Bcc line") {
  const std::string msg = "To: a@x\r\nTo: b@x\r\nCc: c@x\r\nCc: d@x\r\n\r\n";
  CHECK(sent(msg, {"a@x", "b@x", "c@x", "d@x"}) == "Bcc: b@x, d@x\r\n" + msg);
}

TEST_CASE("graph bcc: a header block cut by a bounded read never reads its last line as complete") {
  // b@y.com.au cut to b@y.com must not count b as named.
  const std::string head = "To: a@x.com,\r\n b@y.com";
  const auto plan = graph::plan_bcc(head, false, {"a@x.com", "b@y.com"}, 1024 * 1024);
  CHECK(plan.field == "Bcc: a@x.com, b@y.com\r\n");
  // A cut right after a line end: the pending field might continue.
  CHECK(graph::plan_bcc("To: a@x.com\r\n", false, {"a@x.com"}, 1024).field == "Bcc: a@x.com\r\n");
  // A cut line that starts a new field: the field before it is whole.
  CHECK(graph::plan_bcc("To: a@x.com\r\nSubj", false, {"a@x.com"}, 1024).field.empty());
  // The same head as the whole message: read to its end.
  CHECK(graph::plan_bcc(head, true, {"a@x.com", "b@y.com"}, 1024).field.empty());
  // The size cap cuts the same way.
  CHECK(graph::plan_bcc("To: a@x.com,\r\n b@y.com.au\r\n\r\n", true, {"b@y.com"}, 20).field == "Bcc: b@y.com\r\n");
}

TEST_CASE("graph bcc: the skip source ends early when its inner source does") {
  const std::string msg = "To: b@y\r\nBcc: c@y\r\n\r\nbody";
  auto src = graph::with_bcc("", {{9, 10}}, std::make_unique<graph::BufferSource>(std::string_view(msg).substr(0, 12)));
  CHECK(read_all(*src, 5) == "To: b@y\r\n");
}

TEST_CASE("graph bcc: room for the Bcc line the spool delivery may add") {
  const Strings rcpts{"a@b.example", "cc@d.example"};
  CHECK(graph::bcc_room(rcpts) >= smtp::bcc_field(rcpts).size());
  Strings many;
  for (int i = 0; i < 50; ++i) many.push_back("r" + std::to_string(i) + "@fabrikam.example");
  CHECK(graph::bcc_room(many) >= smtp::bcc_field(many).size());
}
