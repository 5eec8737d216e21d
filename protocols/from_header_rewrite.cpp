#include "protocols/from_header_rewrite.hpp"

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
  std::string v(field.substr(field.find(':') + 1));
  std::string out;
  out.reserve(v.size());
  for (char c : v)
    if (c != '\r' && c != '\n') out += c;
  return std::string(trim(out));
}

// The field name of a header line, or nullopt-like "" when the line is not a
// field ("name:" with printable ASCII and no space before the colon).
std::string_view field_name(std::string_view line) {
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return {};
  std::string_view name = line.substr(0, colon);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);  // "From :"
  for (char c : name)
    if (c <= ' ' || c > '~') return {};
  return name;
}

}  // namespace

FromHeaderRewriter::FromHeaderRewriter(std::string mailbox, bool keep_reply_to,
                                       std::function<bool(std::string_view)> allowed)
    : mailbox_(std::move(mailbox)), keep_reply_to_(keep_reply_to), allowed_(std::move(allowed)) {}

void FromHeaderRewriter::feed(std::string_view in, std::string& out) {
  while (!in.empty()) {
    if (in_body_) {
      out.append(in);
      return;
    }
    const std::size_t lf = in.find('\n');
    const std::size_t take = lf == std::string_view::npos ? in.size() : lf + 1;
    line_.append(in.substr(0, take));
    in.remove_prefix(take);
    if (line_.size() > kMaxHeaderLine) {
      // Not a header block anyone writes: stop interpreting, lose nothing.
      if (in_from_ && (line_.front() == ' ' || line_.front() == '\t')) {
        out += field_;  // the long line continues From: leave the field as it is
        field_.clear();
        in_from_ = false;
      }
      end_of_from(out);
      out += line_;
      line_.clear();
      in_body_ = true;
      continue;
    }
    if (line_.back() != '\n') return;  // the rest of the line comes later
    header_line(line_, out);
    line_.clear();
  }
}

void FromHeaderRewriter::header_line(std::string_view line, std::string& out) {
  if (line == "\r\n" || line == "\n") {
    end_of_headers(out);
    out += line;
    return;
  }
  if (line.front() == ' ' || line.front() == '\t') {  // a folded continuation
    (in_from_ ? field_ : out) += line;
    return;
  }
  end_of_from(out);
  const std::string_view name = field_name(line);
  if (name.empty()) {
    // Not a header field: the message has no (more) header block. Nothing is
    // added in the middle of someone's text.
    in_body_ = true;
    out += line;
    return;
  }
  if (iequals(name, "From")) {
    in_from_ = true;
    field_.assign(line);
    return;
  }
  if (iequals(name, "Reply-To")) saw_reply_to_ = true;
  out += line;
}

void FromHeaderRewriter::end_of_from(std::string& out) {
  if (!in_from_) return;
  in_from_ = false;
  const std::string value = unfolded_value(field_);
  // "Name <addr>" keeps its display name; a bare address is replaced whole.
  const std::size_t lt = value.rfind('<');
  const std::size_t gt = lt == std::string::npos ? std::string::npos : value.find('>', lt);
  const bool angle = gt != std::string::npos;
  const std::string address = angle ? value.substr(lt + 1, gt - lt - 1) : value;
  if (!replaced_.empty() || allowed_(address)) {  // a second From is left alone
    out += field_;
  } else {
    const std::string rewritten = angle ? value.substr(0, lt + 1) + mailbox_ + value.substr(gt) : mailbox_;
    out += "From: " + rewritten + "\r\n";
    original_ = value;
    replaced_ = address.empty() ? "<>" : address;
  }
  field_.clear();
}

void FromHeaderRewriter::end_of_headers(std::string& out) {
  end_of_from(out);
  in_body_ = true;
  if (keep_reply_to_ && !replaced_.empty() && !saw_reply_to_ && !original_.empty()) {
    out += "Reply-To: " + original_ + "\r\n";
    reply_to_added_ = true;
  }
}

void FromHeaderRewriter::finish(std::string& out) {
  if (in_body_) return;
  // A message that is all header block (no blank line, no body).
  if (!line_.empty() && line_.back() != '\n') {
    // A last line without its line end: only whole lines are fields.
    std::string partial;
    partial.swap(line_);
    end_of_headers(out);
    out += partial;
    return;
  }
  end_of_headers(out);
}

}  // namespace xr::smtp
