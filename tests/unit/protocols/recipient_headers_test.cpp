// The Bcc rule: which envelope recipients are in no To/Cc/Bcc field, with
// every address form RFC 5322 allows there, the input split at every byte,
// and the Bcc: field that adds the rest.
#include "protocols/recipient_headers.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace xr::smtp;
using Strings = std::vector<std::string>;

namespace {

// Reads `message` fed in two pieces split at every byte, and byte by byte;
// all must agree; returns the addresses.
Strings addresses_of(const std::string& message) {
  RecipientHeaders whole;
  whole.feed(message);
  whole.finish();
  for (std::size_t split = 0; split <= message.size(); ++split) {
    RecipientHeaders r;
    r.feed(std::string_view(message).substr(0, split));
    r.feed(std::string_view(message).substr(split));
    r.finish();
    INFO("split at " << split);
    CHECK(r.addresses() == whole.addresses());
  }
  RecipientHeaders bytes;
  for (char c : message) bytes.feed(std::string_view(&c, 1));
  bytes.finish();
  CHECK(bytes.addresses() == whole.addresses());
  return whole.addresses();
}

Strings missing_from(const std::string& message, const Strings& envelope) {
  addresses_of(message);
  RecipientHeaders r;
  r.feed(message);
  r.finish();
  return r.missing(envelope);
}

}  // namespace

TEST_CASE("recipient headers: To, Cc and Bcc count; other fields and the body do not") {
  const std::string m =
      "From: scan@contoso.com\r\n"
      "To: a@contoso.com\r\n"
      "Reply-To: r@contoso.com\r\n"
      "cc: b@contoso.com\r\n"
      "BCC: c@contoso.com\r\n"
      "Subject: To: s@contoso.com\r\n"
      "\r\n"
      "To: body@contoso.com\r\n";
  CHECK(addresses_of(m) == Strings{"a@contoso.com", "b@contoso.com", "c@contoso.com"});
  CHECK(missing_from(m, {"a@contoso.com", "body@contoso.com", "r@contoso.com", "c@contoso.com", "s@contoso.com"}) ==
        Strings{"body@contoso.com", "r@contoso.com", "s@contoso.com"});
}

TEST_CASE("recipient headers: a Bcc-only message has every recipient missing") {
  const std::string m = "From: scan@contoso.com\r\nSubject: scan\r\n\r\nbody\r\n";
  CHECK(missing_from(m, {"x@fabrikam.com", "y@fabrikam.com"}) == Strings{"x@fabrikam.com", "y@fabrikam.com"});
}

TEST_CASE("recipient headers: compared case-insensitively, each missing one once, in envelope order") {
  const std::string m = "To: Alice@Contoso.COM\r\n\r\n";
  CHECK(missing_from(m, {"alice@contoso.com", "Bob@x.com", "bob@X.com", "carol@x.com"}) ==
        Strings{"Bob@x.com", "carol@x.com"});
}

TEST_CASE("recipient headers: display names, quoted strings and comments never count as addresses") {
  const std::string m =
      "To: \"Fake <decoy@x.com>, other@x.com\" <real@x.com>,\r\n"
      "  Bob (bob@comment.com) <bob@x.com>, plain@x.com (Plain Person)\r\n"
      "Cc: =?utf-8?q?J=C3=B6rg?= <joerg@x.com>, \"Last, First\" <lf@x.com>\r\n"
      "\r\n";
  CHECK(addresses_of(m) == Strings{"real@x.com", "bob@x.com", "plain@x.com", "joerg@x.com", "lf@x.com"});
  CHECK(missing_from(m, {"decoy@x.com", "bob@comment.com", "real@x.com"}) ==
        Strings{"decoy@x.com", "bob@comment.com"});
}

TEST_CASE("recipient headers: groups, empty groups, angle brackets and obsolete routes") {
  const std::string m =
      "To: team: a@x.com, Bee <b@x.com>;, solo@x.com\r\n"
      "Cc: undisclosed-recipients:;\r\n"
      "Bcc: <@relay.example:routed@x.com>\r\n"
      "\r\n";
  CHECK(addresses_of(m) == Strings{"a@x.com", "b@x.com", "solo@x.com", "routed@x.com"});
}

TEST_CASE("recipient headers: folding, several fields of one name, bare LF line ends") {
  const std::string m =
      "To: a@x.com,\r\n"
      "\tb@x.com\r\n"
      "Subject: hi\r\n"
      "To:\r\n"
      " c@x.com\n"
      "Cc : d@x.com\n"
      "\n";
  CHECK(addresses_of(m) == Strings{"a@x.com", "b@x.com", "c@x.com", "d@x.com"});
}

TEST_CASE("recipient headers: quoted local parts match their unquoted form when they need no quotes") {
  const std::string m = "To: \"john.doe\"@x.com, \"john doe\"@x.com\r\n\r\n";
  CHECK(addresses_of(m) == Strings{"john.doe@x.com", "\"john doe\"@x.com"});
  CHECK(missing_from(m, {"john.doe@x.com", "\"John Doe\"@x.com", "\"jane\"@x.com"}) == Strings{"\"jane\"@x.com"});
  CHECK(normalize_address("\"jane\"@X.com") == "jane@x.com");
}

TEST_CASE("recipient headers: an unreadable field gives no address, so its recipients are added as Bcc") {
  const std::string m = "To: \"unclosed <a@x.com>\r\nCc: (open comment b@x.com\r\nBcc: ok@x.com\r\n\r\n";
  CHECK(addresses_of(m) == Strings{"ok@x.com"});
  CHECK(missing_from(m, {"a@x.com", "b@x.com", "ok@x.com"}) == Strings{"a@x.com", "b@x.com"});
}

TEST_CASE("recipient headers: done at the blank line; a message without one is read to its end") {
  RecipientHeaders r;
  r.feed("To: a@x.com\r\n");
  CHECK_FALSE(r.done());
  r.feed("\r\nTo: b@x.com\r\n");
  CHECK(r.done());
  CHECK(r.addresses() == Strings{"a@x.com"});
  RecipientHeaders all_header;
  all_header.feed("To: a@x.com");
  all_header.finish();
  CHECK(all_header.addresses() == Strings{"a@x.com"});
}

TEST_CASE("recipient headers: the size cap stops reading; what was read stands") {
  RecipientHeaders r(40);
  r.feed("To: a@x.com\r\nX-Long: " + std::string(100, 'z') + "\r\nCc: b@x.com\r\n\r\n");
  CHECK(r.done());
  CHECK(r.addresses() == Strings{"a@x.com"});
  CHECK(r.missing({"a@x.com", "b@x.com"}) == Strings{"b@x.com"});
}

TEST_CASE("bcc field: one line for few, folded under 78 characters for many, CRLF") {
  CHECK(bcc_field({}) == "");
  CHECK(bcc_field({"a@x.com"}) == "Bcc: a@x.com\r\n");
  CHECK(bcc_field({"a@x.com", "b@x.com"}) == "Bcc: a@x.com, b@x.com\r\n");
  Strings many;
  for (int i = 0; i < 100; ++i) many.push_back("recipient" + std::to_string(i) + "@fabrikam.example");
  const std::string f = bcc_field(many);
  CHECK(f.rfind("Bcc: recipient0@", 0) == 0);
  CHECK(f.substr(f.size() - 2) == "\r\n");
  std::size_t start = 0, lines = 0;
  while (start < f.size()) {
    const std::size_t end = f.find("\r\n", start);
    REQUIRE(end != std::string::npos);
    CHECK(end - start <= 78);
    if (lines > 0) CHECK(f[start] == ' ');
    start = end + 2;
    ++lines;
  }
  CHECK(lines > 1);
  // Read back, the field gives every address.
  RecipientHeaders r;
  r.feed(f + "\r\n");
  CHECK(r.addresses() == many);
  // An address longer than a line stays whole on its own line.
  const std::string longest = std::string(200, 'l') + "@x.com";
  const std::string g = bcc_field({"a@x.com", longest});
  CHECK(g == "Bcc: a@x.com,\r\n " + longest + "\r\n");
}

TEST_CASE("recipient headers: a control byte inside quotes or a domain literal makes no address") {
  // Found by fuzz_recipient_headers: a bare CR inside a quoted local part.
  CHECK(addresses_of("Bcc: \"jo\rhn doe\"@x.com, ok@x.com\r\n\r\n").empty());
  CHECK(addresses_of("To: a@[1.2\r.3.4]\r\n\r\n").empty());
  CHECK(addresses_of("To: \"tab\there\"@x.com\r\n\r\n") == Strings{"\"tab\there\"@x.com"});
}

namespace {

struct Read {
  Strings named_missing, bcc_addresses;
  std::vector<ByteRange> bcc_fields;
  bool operator==(const Read&) const = default;
};

// Every split of `m` in two and byte by byte must read the same.
Read read_split(const std::string& m, const Strings& envelope) {
  auto one = [&](const std::vector<std::string_view>& parts) {
    RecipientHeaders r;
    for (auto p : parts) r.feed(p);
    r.finish();
    return Read{r.missing(envelope), r.bcc_addresses(), r.bcc_fields()};
  };
  const Read whole = one({m});
  for (std::size_t split = 0; split <= m.size(); ++split) {
    INFO("split at " << split);
    CHECK(one({std::string_view(m).substr(0, split), std::string_view(m).substr(split)}) == whole);
  }
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < m.size(); ++i) bytes.push_back(std::string_view(m).substr(i, 1));
  CHECK(one(bytes) == whole);
  return whole;
}

}  // namespace

TEST_CASE("recipient headers: only the first To and the first Cc field name recipients") {
  const std::string m = "To: a@x\r\nCc: c@x\r\nTo: b@x\r\ncc: d@x, a@x\r\n\r\n";
  const auto r = read_split(m, {"a@x", "b@x", "c@x", "d@x"});
  CHECK(r.named_missing == Strings{"b@x", "d@x"});
  CHECK(r.bcc_fields.empty());
}

TEST_CASE("recipient headers: each Bcc field's byte range, folded lines and line end included") {
  const std::string m = "From: f@x\r\nBcc: a@x,\r\n\tb@x\r\nTo: t@x\r\nBCC : c@x\n\nBcc: body@x\r\n";
  const auto r = read_split(m, {"t@x", "a@x", "e@x"});
  CHECK(r.bcc_addresses == Strings{"a@x", "b@x", "c@x"});
  REQUIRE(r.bcc_fields.size() == 2);
  CHECK(m.substr(r.bcc_fields[0].offset, r.bcc_fields[0].length) == "Bcc: a@x,\r\n\tb@x\r\n");
  CHECK(m.substr(r.bcc_fields[1].offset, r.bcc_fields[1].length) == "BCC : c@x\n");
  CHECK(r.named_missing == Strings{"e@x"});  // a@x is in a Bcc field: it goes into our line with it
  RecipientHeaders h;
  h.feed(m);
  CHECK(h.bcc_line({"t@x", "a@x", "e@x"}) == Strings{"e@x", "a@x", "b@x", "c@x"});
}

TEST_CASE("recipient headers: a Bcc field that ends the message (no blank line) has its range too") {
  const std::string m = "To: t@x\r\nBcc: a@x";
  const auto r = read_split(m, {"t@x"});
  REQUIRE(r.bcc_fields.size() == 1);
  CHECK(m.substr(r.bcc_fields[0].offset) == "Bcc: a@x");
  CHECK(r.bcc_fields[0].length == 8);
}

TEST_CASE("recipient headers: cut inside the header block, the last line is not read as complete") {
  for (std::size_t split = 0; split <= 4; ++split) {
    const std::string head = "To: a@x.com,\r\n b@y.com";
    RecipientHeaders r;
    r.feed(head.substr(0, split));
    r.feed(head.substr(split));
    r.cut();
    CHECK(r.was_cut());
    CHECK(r.missing({"a@x.com", "b@y.com"}) == Strings{"a@x.com", "b@y.com"});
  }
  RecipientHeaders bcc;
  bcc.feed("To: t@x\r\nBcc: a@x\r\nX-");
  bcc.cut();
  REQUIRE(bcc.bcc_fields().size() == 1);  // the field before a new one is whole
  CHECK(bcc.bcc_fields()[0] == ByteRange{9, 10});
}
