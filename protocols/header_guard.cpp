#include "protocols/header_guard.hpp"

#include "protocols/from_address.hpp"

#include <algorithm>

namespace xr::smtp {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x >= 'A' && x <= 'Z' ? x + 32 : x) == (y >= 'A' && y <= 'Z' ? y + 32 : y);
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A field's value unfolded (RFC 5322 2.2.3): line ends removed.
std::string unfolded_value(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (char c : field.substr(field.find(':') + 1))
    if (c != '\r' && c != '\n') out += c;
  return std::string(trim(out));
}

// The field name of a header line, or "" when the line is not a field
// ("name:" with printable ASCII; "From :" is the obsolete spelling of From:).
std::string_view field_name(std::string_view line) {
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return {};
  std::string_view name = line.substr(0, colon);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  if (name.empty()) return {};
  for (char c : name)
    if (c <= ' ' || c > '~') return {};
  return name;
}

}  // namespace

HeaderGuard::HeaderGuard(HeaderGuardOptions opts) : opts_(std::move(opts)) {}

Reply HeaderGuard::reply() const { return make_reply(code_, text_); }

void HeaderGuard::refuse(const char* reason, int code, const char* text) {
  if (refused()) return;
  reason_ = reason;
  code_ = code;
  text_ = text;
  done_ = true;
  field_.clear();
}

void HeaderGuard::feed(std::string_view in, std::string& out) {
  while (!in.empty()) {
    if (done_) {
      if (!refused()) out.append(in);
      return;
    }
    const std::size_t lf = in.find('\n');
    const std::size_t take = lf == std::string_view::npos ? in.size() : lf + 1;
    if (take > opts_.max_header_size - header_bytes_) {
      // Counted as bytes arrive: a header block never grows past the cap,
      // folded From lines included.
      refuse("header_too_large", 552, "5.3.4 Message header too large");
      return;
    }
    header_bytes_ += take;
    line_.append(in.substr(0, take));
    in.remove_prefix(take);
    if (line_.back() != '\n') return;  // the rest of the line comes later
    header_line(line_, out);
    line_.clear();  // keeps its capacity: no allocation per header line
  }
}

void HeaderGuard::header_line(std::string_view line, std::string& out) {
  if (line == "\r\n" || line == "\n") {
    end_of_headers(out);
    if (!refused()) out += line;
    return;
  }
  if (line.front() == ' ' || line.front() == '\t') {  // a folded continuation
    if (!any_field_) return refuse("malformed_header", 550, "5.6.0 Malformed message header");
    if (in_message_id_) note_message_id(line);
    (in_from_ ? field_ : out) += line;
    return;
  }
  end_of_from(out);
  if (refused()) return;
  in_message_id_ = false;
  const std::string_view name = field_name(line);
  if (name.empty()) return refuse("malformed_header", 550, "5.6.0 Malformed message header");
  any_field_ = true;
  if (!saw_message_id_ && iequals(name, "Message-ID")) {
    saw_message_id_ = in_message_id_ = true;
    note_message_id(line.substr(line.find(':') + 1));
  }
  if (iequals(name, "From")) {
    if (++from_fields_ > 1)
      return refuse("several_from", 550, "5.7.1 Message has more than one From: header");
    in_from_ = true;
    field_.assign(line);
    return;
  }
  if (iequals(name, "Reply-To")) saw_reply_to_ = true;
  out += line;
}

// A piece of the Message-ID field (its first line after the colon, or a
// continuation line), unfolded: line ends go, the value is trimmed, and it
// stops growing at the log's cap.
void HeaderGuard::note_message_id(std::string_view part) {
  while (!part.empty() && (part.back() == '\n' || part.back() == '\r')) part.remove_suffix(1);
  if (message_id_.empty()) part = trim(part);
  const std::size_t room = kMaxMessageIdLog - std::min(kMaxMessageIdLog, message_id_.size());
  message_id_.append(part.substr(0, room));
  while (!message_id_.empty() && (message_id_.back() == ' ' || message_id_.back() == '\t')) message_id_.pop_back();
}

void HeaderGuard::end_of_from(std::string& out) {
  if (!in_from_) return;
  in_from_ = false;
  const std::string value = unfolded_value(field_);
  const FromAddress from = parse_from_address(value);
  switch (from.kind) {
    case FromAddress::Kind::several:
      return refuse("several_addresses", 550, "5.7.1 From: header holds more than one address");
    case FromAddress::Kind::invalid:
      return refuse("unparsable_from", 550, "5.7.1 From: header address cannot be parsed");
    case FromAddress::Kind::none:
      from_ = "<>";
      if (!opts_.rewrite) return refuse("no_address", 550, "5.7.1 From: header holds no address");
      rewrite(value, from.angle, "", out);  // nothing worth a Reply-To
      break;
    case FromAddress::Kind::one:
      from_ = from.address;
      if (opts_.allowed && opts_.allowed(from.address)) {
        out += field_;  // byte for byte, folding included
      } else if (opts_.rewrite) {
        rewrite(value, from.angle, value, out);
      } else {
        return refuse("sender_not_allowed", 550, "5.7.1 From: address not allowed for this login");
      }
      break;
  }
  field_.clear();
}

// "Name <addr>" keeps its display name; a bare address is replaced whole.
void HeaderGuard::rewrite(std::string_view value, std::size_t angle, std::string_view original, std::string& out) {
  if (angle != std::string_view::npos)
    out += "From: " + std::string(value.substr(0, angle)) + "<" + opts_.mailbox + ">\r\n";
  else
    out += "From: " + opts_.mailbox + "\r\n";
  original_ = std::string(original);
  replaced_ = from_.empty() ? "<>" : from_;
}

void HeaderGuard::end_of_headers(std::string& out) {
  end_of_from(out);
  if (refused()) return;
  done_ = true;
  if (from_fields_ == 0) {
    if (!opts_.rewrite) return refuse("no_from", 550, "5.7.1 Message has no From: header");
    out += "From: " + opts_.mailbox + "\r\n";  // the device wrote none: the mailbox is the sender
    replaced_ = "<>";
  }
  if (opts_.keep_reply_to && !replaced_.empty() && !saw_reply_to_ && !original_.empty()) {
    out += "Reply-To: " + original_ + "\r\n";
    reply_to_added_ = true;
  }
}

void HeaderGuard::finish(std::string& out) {
  if (done_) return;
  // The DATA decoder ends every message with CRLF: a last line without one
  // is not a header line anyone can read the same way.
  if (!line_.empty()) return refuse("malformed_header", 550, "5.6.0 Malformed message header");
  end_of_headers(out);
}

}  // namespace xr::smtp
