// IMAP command syntax before login (RFC 3501 section 9, RFC 7888 LITERAL+):
// a command is one or more lines joined by literals. The server machine
// assembles the text with each literal replaced by a marker; this file
// finds literal announcements and splits a command into tag, name and
// astring arguments (atoms, quoted strings with \" and \\, literals).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xr::imap {

// "{12}" (synchronizing) or "{12+}" at the end of a line.
struct LiteralSpec {
  std::size_t size = 0;
  bool sync = true;
};
// The announcement at the end of `line`, and the text before it.
std::optional<LiteralSpec> literal_at_end(std::string_view line, std::string_view* before);

// A command's text with literals replaced by a marker ('\0' then the literal's
// index as one byte), and the literals.
struct RawCommand {
  std::string text;
  std::vector<std::string> literals;
  void add_literal_marker() {
    text += '\0';
    text += static_cast<char>(literals.size());
    literals.emplace_back();
  }
};

struct Command {
  std::string tag;
  std::string name;  // upper-case
  std::string rest;  // the text after the name (markers intact)
};

// Splits off tag and name. nullopt (with the reason) when the tag is missing
// or invalid; then the reply is an untagged BAD.
std::optional<Command> split_command(const RawCommand& raw, std::string* why);

// The astring arguments of `cmd.rest`; nullopt (with the reason) on bad
// syntax: unterminated quote, bad escape, parenthesised lists, ...
std::optional<std::vector<std::string>> parse_astrings(const Command& cmd, const RawCommand& raw, std::string* why);

}  // namespace xr::imap
