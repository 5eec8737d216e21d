// The Bcc rule for Graph sendMail: Graph takes a message's recipients from
// its To/Cc/Bcc header fields only, never from an SMTP envelope. An envelope
// recipient in no such field (a Bcc copy, a mailing list, a journal address)
// would silently get nothing; the relay adds those as a Bcc: field before
// sending.
//
// Sans-IO and streaming: message bytes (CRLF or bare LF line ends) in any
// pieces; only the header block is looked at, and only To/Cc/Bcc fields are
// kept. Addresses are read as RFC 5322 address lists (3.4): display names,
// quoted strings, comments, groups ("list: a@b, c@d;"), angle brackets,
// folded lines, several fields of one name. What cannot be read yields no
// address, so in doubt a recipient is added as Bcc (Exchange sends one copy
// per recipient anyway) rather than lost.
//
// RFC 5322 allows one To, one Cc and one Bcc field; nobody knows whether
// Exchange merges duplicates or keeps one. So only the FIRST To and the
// FIRST Cc field name a recipient; an address only in a later one counts as
// missing (it goes into our Bcc line). The message's own Bcc fields are
// reported with their byte ranges: the relay leaves them out and puts their
// addresses into the one Bcc line it adds, so exactly one Bcc field is sent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace xr::smtp {

// Bytes [offset, offset + length) of the message (from its first byte).
struct ByteRange {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  bool operator==(const ByteRange&) const = default;
};

class RecipientHeaders {
 public:
  explicit RecipientHeaders(std::size_t max_header_size = 1024 * 1024);

  void feed(std::string_view in);
  // The message ended (a message that is all header block ends here).
  void finish();
  // The input was cut inside the header block (a bounded read): a line not
  // ended is never read as complete (a cut "b@y.com.au" is not "b@y.com"),
  // nor the field it may continue, unless it visibly starts a new field.
  // The size cap cuts the same way.
  void cut();
  bool was_cut() const { return cut_; }
  // The header block has been read (blank line, finish(), or the size cap).
  bool done() const { return done_; }

  // Addresses in any To/Cc/Bcc field, normalised as `normalize_address`, in
  // field order, duplicates kept out.
  const std::vector<std::string>& addresses() const { return addresses_; }
  // The addresses of the message's Bcc fields (all of them), normalised.
  const std::vector<std::string>& bcc_addresses() const { return bcc_addresses_; }
  // Where each complete Bcc field is (name to its last line end, folded
  // lines included), in order.
  const std::vector<ByteRange>& bcc_fields() const { return bcc_fields_; }

  // The envelope recipients in neither the first To nor the first Cc field
  // nor any Bcc field, in envelope order, each once.
  std::vector<std::string> missing(const std::vector<std::string>& envelope) const;
  // What the one Bcc line the relay sends holds: missing(envelope), then
  // the message's own Bcc addresses not among them.
  std::vector<std::string> bcc_line(const std::vector<std::string>& envelope) const;

 private:
  enum class Kind { none, to, cc, bcc };
  void line_complete();
  void field_complete();
  void field_drop();

  std::size_t max_;
  std::uint64_t seen_ = 0;
  bool done_ = false;
  bool cut_ = false;
  std::string line_;     // the line being read
  std::uint64_t line_start_ = 0;
  Kind kind_ = Kind::none;  // of the field being read
  bool to_seen_ = false, cc_seen_ = false;
  std::string field_;    // the To/Cc/Bcc field's value so far (unfolded)
  std::uint64_t field_start_ = 0, field_end_ = 0;
  std::vector<std::string> addresses_, named_, bcc_addresses_;
  std::vector<ByteRange> bcc_fields_;
};

// For comparison: the domain and the local part lower-cased (Exchange treats
// both so), a quoted local part that needs no quotes unquoted.
std::string normalize_address(std::string_view address);

// The addresses of one address-list field body (unfolded), normalised.
std::vector<std::string> parse_address_list(std::string_view value);

// "Bcc: a@b, c@d\r\n" for the addresses as given, folded (CRLF + space)
// before a line would pass 78 characters, so no line nears RFC 5322's 998;
// "" for none. Prepended to the message, it adds them as recipients.
std::string bcc_field(const std::vector<std::string>& addresses);

}  // namespace xr::smtp
