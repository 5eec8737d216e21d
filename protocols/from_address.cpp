#include "protocols/from_address.hpp"

#include "protocols/rfc5322_atoms.hpp"

#include <vector>

namespace xr::smtp {
namespace {

struct Token {
  enum class Type { atom, quoted, literal, special } type;
  std::string text;  // atom, quoted content (unescaped), literal with its brackets, or the special
  std::size_t pos;   // offset in the value
};

bool is_special(const Token& t, char c) { return t.type == Token::Type::special && t.text[0] == c; }

// Splits the value into tokens. Comments and white space separate tokens and
// are dropped: whatever they hold is never an address. False on anything
// unbalanced or outside the grammar.
bool lex(std::string_view v, std::vector<Token>& out) {
  std::size_t i = 0;
  const std::size_t n = v.size();
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(v[i]);
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++i;
    } else if (c == '(') {
      int depth = 1;
      ++i;
      while (depth > 0) {
        if (i >= n) return false;
        if (v[i] == '\\') {
          if (i + 1 >= n) return false;
          i += 2;
          continue;
        }
        if (v[i] == '(') ++depth;
        else if (v[i] == ')') --depth;
        ++i;
      }
    } else if (c == '"') {
      Token t{Token::Type::quoted, {}, i};
      ++i;
      for (;;) {
        if (i >= n) return false;
        if (v[i] == '\\') {
          if (i + 1 >= n) return false;
          t.text += v[i + 1];
          i += 2;
        } else if (v[i] == '"') {
          ++i;
          break;
        } else {
          t.text += v[i++];
        }
      }
      out.push_back(std::move(t));
    } else if (c == '[') {
      const std::size_t start = i++;
      for (;;) {
        if (i >= n || v[i] == '[') return false;
        if (v[i] == '\\') {
          if (i + 1 >= n) return false;
          i += 2;
        } else if (v[i++] == ']') {
          break;
        }
      }
      out.push_back({Token::Type::literal, std::string(v.substr(start, i - start)), start});
    } else if (c == '<' || c == '>' || c == ':' || c == ';' || c == '@' || c == ',' || c == '.') {
      out.push_back({Token::Type::special, std::string(1, char(c)), i});
      ++i;
    } else if (is_atext(c)) {
      const std::size_t start = i;
      while (i < n && is_atext(static_cast<unsigned char>(v[i]))) ++i;
      out.push_back({Token::Type::atom, std::string(v.substr(start, i - start)), start});
    } else {
      return false;  // ')', ']', '\\' or a control character
    }
  }
  return true;
}

using Span = std::pair<std::size_t, std::size_t>;  // [first, last) in the token list

// addr-spec = local-part "@" domain; "" when the tokens are not one.
std::string addr_spec(const std::vector<Token>& t, Span s) {
  std::size_t at = s.second;
  for (std::size_t i = s.first; i < s.second; ++i) {
    if (!is_special(t[i], '@')) continue;
    if (at != s.second) return {};  // a second "@"
    at = i;
  }
  if (at == s.second || at == s.first || at + 1 == s.second) return {};
  // local-part: word *("." word), a word being an atom or a quoted string.
  std::string local;
  bool quoted = false;
  for (std::size_t i = s.first; i < at; ++i) {
    const bool word_expected = (i - s.first) % 2 == 0;
    if (word_expected) {
      if (t[i].type == Token::Type::atom) local += t[i].text;
      else if (t[i].type == Token::Type::quoted) {
        local += t[i].text;
        quoted = true;
      } else return {};
    } else if (is_special(t[i], '.')) {
      local += '.';
    } else {
      return {};
    }
  }
  if ((at - s.first) % 2 == 0) return {};  // ended on a dot
  if (quoted && !is_dot_atom(local)) local = quote(local);
  if (local.empty() || (!quoted && !is_dot_atom(local))) return {};
  // domain: dot-atom or a domain literal.
  std::string domain;
  if (at + 2 == s.second && t[at + 1].type == Token::Type::literal) {
    domain = t[at + 1].text;
  } else {
    for (std::size_t i = at + 1; i < s.second; ++i) {
      const bool atom_expected = (i - at - 1) % 2 == 0;
      if (atom_expected && t[i].type == Token::Type::atom) domain += t[i].text;
      else if (!atom_expected && is_special(t[i], '.')) domain += '.';
      else return {};
    }
    if (!is_dot_atom(domain)) return {};
  }
  return local + "@" + domain;
}

FromAddress mailbox(const std::vector<Token>& t, Span s) {
  FromAddress r;
  std::size_t lt = s.second;
  for (std::size_t i = s.first; i < s.second; ++i)
    if (is_special(t[i], '<')) {
      lt = i;
      break;
    }
  if (lt == s.second) {  // a bare addr-spec
    r.address = addr_spec(t, s);
    r.kind = r.address.empty() ? FromAddress::Kind::invalid : FromAddress::Kind::one;
    return r;
  }
  // name-addr: the display name is words (atoms, quoted strings, and the
  // dots and "@"s careless writers leave unquoted); it never counts.
  for (std::size_t i = s.first; i < lt; ++i)
    if (t[i].type == Token::Type::special && !is_special(t[i], '.') && !is_special(t[i], '@')) return r;
  // "<" addr-spec ">" and nothing after it.
  if (!is_special(t[s.second - 1], '>')) return r;
  for (std::size_t i = lt + 1; i + 1 < s.second; ++i)
    if (is_special(t[i], '<') || is_special(t[i], '>')) return r;
  r.angle = t[lt].pos;
  if (lt + 2 == s.second) {
    r.kind = FromAddress::Kind::none;  // <>
    return r;
  }
  r.address = addr_spec(t, {lt + 1, s.second - 1});
  r.kind = r.address.empty() ? FromAddress::Kind::invalid : FromAddress::Kind::one;
  return r;
}

}  // namespace

FromAddress parse_from_address(std::string_view value) {
  std::vector<Token> t;
  if (!lex(value, t)) return {};
  // Split the mailbox list at commas outside "<...>"; a ":" or ";" outside
  // "<...>" is group syntax.
  std::vector<Span> elements;
  std::size_t start = 0;
  bool in_angle = false, group = false;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (is_special(t[i], '<')) in_angle = true;
    else if (is_special(t[i], '>')) in_angle = false;
    else if (!in_angle && (is_special(t[i], ':') || is_special(t[i], ';'))) group = true;
    else if (is_special(t[i], ',')) {
      if (in_angle) return {};  // an obsolete source route: nobody's From
      if (i > start) elements.push_back({start, i});
      start = i + 1;
    }
  }
  if (t.size() > start) elements.push_back({start, t.size()});
  FromAddress r;
  if (group || elements.size() > 1) r.kind = FromAddress::Kind::several;
  else if (elements.empty()) r.kind = FromAddress::Kind::none;
  else r = mailbox(t, elements.front());
  return r;
}

}  // namespace xr::smtp
