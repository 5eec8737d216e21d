#include "protocols/imap_command.hpp"

#include <cctype>

namespace xr::imap {
namespace {

// ATOM-CHAR: any CHAR except atom-specials ( ) { SP CTL % * " \ ]
bool atom_char(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u >= 0x7f) return false;
  switch (c) {
    case '(': case ')': case '{': case '%': case '*': case '"': case '\\': case ']': return false;
    default: return true;
  }
}

// ASTRING-CHAR = ATOM-CHAR / "]"; UTF-8 bytes are accepted in atoms too
// (RFC 6855 clients send them).
bool astring_char(char c) {
  auto u = static_cast<unsigned char>(c);
  return atom_char(c) || c == ']' || u >= 0x80;
}

}  // namespace

std::optional<LiteralSpec> literal_at_end(std::string_view line, std::string_view* before) {
  if (line.empty() || line.back() != '}') return std::nullopt;
  auto open = line.rfind('{');
  if (open == std::string_view::npos) return std::nullopt;
  std::string_view inner = line.substr(open + 1, line.size() - open - 2);
  LiteralSpec spec;
  if (!inner.empty() && inner.back() == '+') {
    spec.sync = false;
    inner.remove_suffix(1);
  }
  if (inner.empty() || inner.size() > 10) return std::nullopt;
  std::size_t n = 0;
  for (char c : inner) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  spec.size = n;
  if (before) *before = line.substr(0, open);
  return spec;
}

std::optional<Command> split_command(const RawCommand& raw, std::string* why) {
  std::string_view t = raw.text;
  auto sp = t.find(' ');
  std::string_view tag = t.substr(0, sp);
  if (tag.empty()) {
    *why = "Empty command";
    return std::nullopt;
  }
  for (char c : tag) {
    if (!atom_char(c) || c == '+') {
      *why = "Invalid tag";
      return std::nullopt;
    }
  }
  Command cmd;
  cmd.tag = std::string(tag);
  if (sp == std::string_view::npos) return cmd;  // name missing: caller says BAD
  std::string_view after = t.substr(sp + 1);
  auto sp2 = after.find(' ');
  for (char c : after.substr(0, sp2)) cmd.name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (sp2 != std::string_view::npos) cmd.rest = std::string(after.substr(sp2 + 1));
  return cmd;
}

std::optional<std::vector<std::string>> parse_astrings(const Command& cmd, const RawCommand& raw, std::string* why) {
  std::vector<std::string> args;
  std::string_view r = cmd.rest;
  std::size_t i = 0;
  while (i < r.size()) {
    if (r[i] == ' ') {
      ++i;
      continue;
    }
    if (r[i] == '\0') {
      if (i + 1 >= r.size() || static_cast<std::size_t>(r[i + 1]) >= raw.literals.size()) {
        *why = "Invalid literal";
        return std::nullopt;
      }
      args.push_back(raw.literals[static_cast<std::size_t>(r[i + 1])]);
      i += 2;
    } else if (r[i] == '"') {
      std::string value;
      ++i;
      bool closed = false;
      while (i < r.size()) {
        char c = r[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\') {
          if (i >= r.size() || (r[i] != '"' && r[i] != '\\')) {
            *why = "Invalid escape in quoted string";
            return std::nullopt;
          }
          c = r[i++];
        } else if (c == '\0') {
          *why = "Literal inside a quoted string";
          return std::nullopt;
        }
        value += c;
      }
      if (!closed) {
        *why = "Unterminated quoted string";
        return std::nullopt;
      }
      args.push_back(std::move(value));
    } else {
      std::size_t start = i;
      while (i < r.size() && r[i] != ' ') {
        if (!astring_char(r[i])) {
          *why = "Invalid characters in atom";
          return std::nullopt;
        }
        ++i;
      }
      args.emplace_back(r.substr(start, i - start));
    }
    if (i < r.size() && r[i] != ' ') {
      *why = "Missing space between arguments";
      return std::nullopt;
    }
  }
  return args;
}

}  // namespace xr::imap
