#include "protocols/recipient_headers.hpp"

#include "protocols/rfc5322_atoms.hpp"

#include <algorithm>
#include <cctype>

namespace xr::smtp {
namespace {

constexpr std::size_t kFoldAt = 78;

// A bare CR, LF or other control byte inside quotes or a domain literal:
// no address a mail system would take, and one that must never reach a Bcc:
// line the relay writes.
bool is_control(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u < 0x20 && c != '\t') || u == 0x7f;
}

struct Token {
  enum class Type { word, quoted, special } type;
  std::string text;  // atom or domain literal, quoted content (unescaped), or the special
};

bool special(const Token& t, char c) { return t.type == Token::Type::special && t.text[0] == c; }

// Comments and white space are dropped: nothing in them is an address.
// False on anything unbalanced.
bool lex(std::string_view v, std::vector<Token>& out) {
  std::size_t i = 0;
  const std::size_t n = v.size();
  while (i < n) {
    const char c = v[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++i;
    } else if (c == '(') {
      int depth = 1;
      for (++i; depth > 0; ++i) {
        if (i >= n) return false;
        if (v[i] == '\\') ++i;
        else if (v[i] == '(') ++depth;
        else if (v[i] == ')') --depth;
      }
    } else if (c == '"') {
      Token t{Token::Type::quoted, {}};
      for (++i;; ++i) {
        if (i >= n) return false;
        if (is_control(v[i]) || (v[i] == '\\' && i + 1 < n && is_control(v[i + 1]))) return false;
        if (v[i] == '\\' && i + 1 < n) t.text += v[++i];
        else if (v[i] == '"') break;
        else t.text += v[i];
      }
      ++i;
      out.push_back(std::move(t));
    } else if (c == '[') {
      const std::size_t end = v.find(']', i);
      if (end == std::string_view::npos) return false;
      for (std::size_t k = i; k < end; ++k)
        if (is_control(v[k])) return false;
      out.push_back({Token::Type::word, std::string(v.substr(i, end + 1 - i))});
      i = end + 1;
    } else if (std::string_view("<>:;@,.").find(c) != std::string_view::npos) {
      out.push_back({Token::Type::special, std::string(1, c)});
      ++i;
    } else if (is_atext(static_cast<unsigned char>(c))) {
      const std::size_t start = i;
      while (i < n && is_atext(static_cast<unsigned char>(v[i]))) ++i;
      out.push_back({Token::Type::word, std::string(v.substr(start, i - start))});
    } else {
      return false;
    }
  }
  return true;
}

// local "@" domain from tokens [b, e); "" when they are not one.
std::string addr_spec(const std::vector<Token>& t, std::size_t b, std::size_t e) {
  std::size_t at = e;
  for (std::size_t i = b; i < e; ++i)
    if (special(t[i], '@')) at = i;  // the last "@": a local part never holds one unquoted
  if (at == e || at == b || at + 1 == e) return {};
  std::string local;
  bool quoted = false;
  for (std::size_t i = b; i < at; ++i) {
    if (t[i].type == Token::Type::quoted) quoted = true;
    else if (t[i].type == Token::Type::special && !special(t[i], '.')) return {};
    local += t[i].text;
  }
  std::string domain;
  for (std::size_t i = at + 1; i < e; ++i) {
    if (t[i].type == Token::Type::special && !special(t[i], '.')) return {};
    if (t[i].type == Token::Type::quoted) return {};
    domain += t[i].text;
  }
  if (!quoted && !is_dot_atom(local)) return {};
  if (quoted && !is_dot_atom(local)) local = quote(local);
  return local + "@" + domain;
}

// One mailbox: "name <addr>" or a bare addr-spec.
std::string mailbox(const std::vector<Token>& t, std::size_t b, std::size_t e) {
  for (std::size_t i = b; i < e; ++i) {
    if (!special(t[i], '<')) continue;
    std::size_t close = i + 1;
    while (close < e && !special(t[close], '>')) ++close;
    if (close == e) return {};
    std::size_t start = i + 1;
    // An obsolete route ("<@a,@b:user@c>"): the address follows the ':'.
    for (std::size_t k = start; k < close; ++k)
      if (special(t[k], ':')) start = k + 1;
    return addr_spec(t, start, close);
  }
  return addr_spec(t, b, e);
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

enum class FieldName { other, to, cc, bcc };

FieldName field_name(std::string_view name) {
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  const std::string n = lower_ascii(name);
  return n == "to" ? FieldName::to : n == "cc" ? FieldName::cc : n == "bcc" ? FieldName::bcc : FieldName::other;
}

void add_once(std::vector<std::string>& to, const std::string& a) {
  if (std::find(to.begin(), to.end(), a) == to.end()) to.push_back(a);
}

}  // namespace

std::string normalize_address(std::string_view address) {
  std::string a = lower_ascii(address);
  // "a.b"@c -> a.b@c: the same mailbox written two ways.
  if (a.size() > 2 && a.front() == '"') {
    const std::size_t at = a.rfind('@');
    if (at != std::string::npos && at >= 2 && a[at - 1] == '"') {
      const std::string inner = a.substr(1, at - 2);
      if (is_dot_atom(inner)) a = inner + a.substr(at);
    }
  }
  return a;
}

std::vector<std::string> parse_address_list(std::string_view value) {
  std::vector<std::string> out;
  std::vector<Token> t;
  if (!lex(value, t)) return out;
  // Elements end at ',' or ';' outside "<...>"; "name:" opens a group, whose
  // members are addresses like any other.
  std::size_t start = 0;
  bool in_angle = false;
  auto take = [&](std::size_t end) {
    if (end > start) {
      std::string a = mailbox(t, start, end);
      if (!a.empty()) out.push_back(normalize_address(a));
    }
    start = end + 1;
  };
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (special(t[i], '<')) in_angle = true;
    else if (special(t[i], '>')) in_angle = false;
    else if (in_angle) continue;
    else if (special(t[i], ':')) start = i + 1;  // the group's display name never counts
    else if (special(t[i], ',') || special(t[i], ';')) take(i);
  }
  take(t.size());
  return out;
}

RecipientHeaders::RecipientHeaders(std::size_t max_header_size) : max_(max_header_size) {}

void RecipientHeaders::feed(std::string_view in) {
  while (!in.empty() && !done_) {
    const std::size_t lf = in.find('\n');
    const std::size_t take = lf == std::string_view::npos ? in.size() : lf + 1;
    if (seen_ + take > max_) {
      // The header guard refuses such a message; here the fields read so
      // far stand, and every other recipient becomes Bcc.
      line_.append(in.substr(0, static_cast<std::size_t>(max_ - seen_)));
      cut();
      return;
    }
    if (line_.empty()) line_start_ = seen_;
    seen_ += take;
    line_.append(in.substr(0, take));
    in.remove_prefix(take);
    if (lf != std::string_view::npos) line_complete();
  }
}

void RecipientHeaders::finish() {
  if (done_) return;
  if (!line_.empty()) line_complete();
  field_complete();
  done_ = true;
}

void RecipientHeaders::cut() {
  if (done_) return;
  // Only a line that visibly starts a new field proves the pending one whole.
  if (!line_.empty() && line_.front() != ' ' && line_.front() != '\t') field_complete();
  else field_drop();
  line_.clear();
  cut_ = true;
  done_ = true;
}

void RecipientHeaders::line_complete() {
  std::string_view line(line_);
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) {  // the blank line: the body follows
    field_complete();
    done_ = true;
  } else if (line.front() == ' ' || line.front() == '\t') {
    if (kind_ != Kind::none) {
      field_.append(line);  // unfolding: the line break goes, the white space stays
      field_end_ = seen_;
    }
  } else {
    field_complete();
    const std::size_t colon = line.find(':');
    const auto name = colon == std::string_view::npos ? FieldName::other : field_name(line.substr(0, colon));
    kind_ = name == FieldName::to ? Kind::to : name == FieldName::cc ? Kind::cc
          : name == FieldName::bcc ? Kind::bcc : Kind::none;
    if (kind_ != Kind::none) {
      field_.assign(line.substr(colon + 1));
      field_start_ = line_start_;
      field_end_ = seen_;
    }
  }
  line_.clear();
}

void RecipientHeaders::field_complete() {
  if (kind_ != Kind::none) {
    // Only the first To and the first Cc name recipients for sure.
    const bool first = (kind_ == Kind::to && !to_seen_) || (kind_ == Kind::cc && !cc_seen_);
    for (auto& a : parse_address_list(field_)) {
      add_once(addresses_, a);
      if (first) add_once(named_, a);
      if (kind_ == Kind::bcc) add_once(bcc_addresses_, a);
    }
    if (kind_ == Kind::bcc) bcc_fields_.push_back({field_start_, field_end_ - field_start_});
    if (kind_ == Kind::to) to_seen_ = true;
    if (kind_ == Kind::cc) cc_seen_ = true;
  }
  field_drop();
}

void RecipientHeaders::field_drop() {
  kind_ = Kind::none;
  field_.clear();
}

std::vector<std::string> RecipientHeaders::missing(const std::vector<std::string>& envelope) const {
  std::vector<std::string> out;
  std::vector<std::string> seen;
  for (const auto& rcpt : envelope) {
    std::string n = normalize_address(rcpt);
    if (std::find(named_.begin(), named_.end(), n) != named_.end()) continue;
    if (std::find(bcc_addresses_.begin(), bcc_addresses_.end(), n) != bcc_addresses_.end()) continue;
    if (std::find(seen.begin(), seen.end(), n) != seen.end()) continue;
    seen.push_back(std::move(n));
    out.push_back(rcpt);
  }
  return out;
}

std::vector<std::string> RecipientHeaders::bcc_line(const std::vector<std::string>& envelope) const {
  auto out = missing(envelope);
  for (const auto& a : bcc_addresses_) out.push_back(a);  // missing() never holds these
  return out;
}

std::string bcc_field(const std::vector<std::string>& addresses) {
  if (addresses.empty()) return {};
  std::string out = "Bcc:";
  std::size_t line_len = out.size();
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    const std::string item = addresses[i] + (i + 1 < addresses.size() ? "," : "");
    if (i > 0 && line_len + 1 + item.size() > kFoldAt) {
      out += "\r\n";
      line_len = 0;
    }
    out += ' ';
    out += item;
    line_len += 1 + item.size();
  }
  return out + "\r\n";
}

}  // namespace xr::smtp
