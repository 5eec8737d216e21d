#include "spool/mail_text.hpp"

#include <fmt/format.h>

#include <ctime>

namespace xr::spool::mail_text {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    std::size_t end = nl == std::string_view::npos ? text.size() : nl;
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return lines;
}

// Greedy fill: words joined by single spaces (so runs of spaces survive),
// a new line (starting with `indent`) when the next word would pass kFoldAt;
// a word longer than a whole line is cut at kMaxLine.
std::string fill(std::string_view first, bool space_after_first, std::string_view text, std::string_view indent) {
  std::string out, line(first);
  bool has_word = false;          // the line holds a word: it may end before the next
  bool sep = space_after_first;   // a space goes before the next word
  std::size_t pos = 0;
  for (;;) {
    std::size_t sp = text.find(' ', pos);
    std::string_view word = text.substr(pos, sp == std::string_view::npos ? std::string_view::npos : sp - pos);
    if (has_word && line.size() + 1 + word.size() > kFoldAt) {
      out += line + "\r\n";
      line.assign(indent);
      sep = false;
    }
    if (sep) line += ' ';
    while (line.size() + word.size() > kMaxLine) {
      std::size_t room = kMaxLine - line.size();
      line.append(word.substr(0, room));
      out += line + "\r\n";
      word.remove_prefix(room);
      line.assign(indent.empty() ? std::string_view(" ") : indent);
    }
    line.append(word);
    has_word = true;
    sep = true;
    if (sp == std::string_view::npos) break;
    pos = sp + 1;
  }
  out += line + "\r\n";
  return out;
}

}  // namespace

std::string rfc5322_date(std::int64_t unix_ms) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  return fmt::format("{}, {:02} {} {} {:02}:{:02}:{:02} +0000", kDays[tm.tm_wday % 7], tm.tm_mday,
                     kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::optional<std::string> header_value(std::string_view headers, std::string_view name) {
  auto lines = split_lines(headers);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (line.empty()) break;  // end of the header block
    auto colon = line.find(':');
    if (colon == std::string_view::npos || line[0] == ' ' || line[0] == '\t') continue;
    std::string_view field = line.substr(0, colon);
    while (!field.empty() && (field.back() == ' ' || field.back() == '\t')) field.remove_suffix(1);
    if (!iequals(field, name)) continue;
    std::string value(line.substr(colon + 1));
    // Unfolding (RFC 5322 2.2.3): a line starting with white space continues
    // the field; the CRLF before it goes, the white space stays.
    while (i + 1 < lines.size() && !lines[i + 1].empty() && (lines[i + 1][0] == ' ' || lines[i + 1][0] == '\t'))
      value += lines[++i];
    std::size_t b = value.find_first_not_of(" \t");
    std::size_t e = value.find_last_not_of(" \t");
    return b == std::string::npos ? std::string() : value.substr(b, e - b + 1);
  }
  return std::nullopt;
}

std::string one_line(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c == '\r' || c == '\n') c = ' ';
  return out;
}

std::string fold_field(std::string_view name, std::string_view value) {
  std::string v = one_line(value);
  for (char& c : v)
    if (c == '\t') c = ' ';
  return fill(std::string(name) + ":", true, v, " ");
}

std::string wrap(std::string_view text, std::string_view indent) { return fill(indent, false, one_line(text), indent); }

std::string crlf_lines(std::string_view text) {
  auto lines = split_lines(text);
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  std::string out;
  for (auto line : lines) {
    std::string_view prefix;
    while (prefix.size() + line.size() > kMaxLine) {
      std::size_t room = kMaxLine - prefix.size();
      out.append(prefix).append(line.substr(0, room)).append("\r\n");
      line.remove_prefix(room);
      prefix = " ";
    }
    out.append(prefix).append(line).append("\r\n");
  }
  return out;
}

bool is_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

}  // namespace xr::spool::mail_text
