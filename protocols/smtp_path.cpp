#include "protocols/smtp_path.hpp"

namespace xr::smtp {
namespace {

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

// Checks the characters of an address and finds where it ends (the '>').
// Quoted local parts may hold spaces and '>'; outside quotes neither is
// allowed. Returns the index of the closing '>' or npos.
std::size_t find_path_end(std::string_view s) {
  bool quoted = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (is_control(c)) return std::string_view::npos;
    if (quoted) {
      if (c == '\\') {
        if (++i >= s.size() || is_control(static_cast<unsigned char>(s[i]))) return std::string_view::npos;
      } else if (c == '"') {
        quoted = false;
      }
      continue;
    }
    if (c == '"') quoted = true;
    else if (c == '>') return i;
    else if (c == '<' || c == ' ') return std::string_view::npos;
  }
  return std::string_view::npos;
}

}  // namespace

bool is_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

std::optional<PathArgument> parse_path_argument(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  if (text.empty() || text.front() != '<') return std::nullopt;
  text.remove_prefix(1);
  const std::size_t end = find_path_end(text);
  if (end == std::string_view::npos) return std::nullopt;

  std::string_view address = text.substr(0, end);
  // An obsolete source route "@a,@b:user@host" must be accepted and ignored
  // (RFC 5321 4.1.2, C).
  if (!address.empty() && address.front() == '@') {
    const std::size_t colon = address.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    address.remove_prefix(colon + 1);
    if (address.empty()) return std::nullopt;
  }
  if (address.find('@') == 0 || (!address.empty() && address.back() == '@')) return std::nullopt;

  PathArgument out;
  out.address = std::string(address);
  std::string_view rest = text.substr(end + 1);
  if (!rest.empty() && rest.front() != ' ') return std::nullopt;  // "<a@b>SIZE=1"
  while (!rest.empty()) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (rest.empty()) break;
    const std::size_t sp = rest.find(' ');
    std::string_view param = rest.substr(0, sp);
    for (char c : param)
      if (is_control(static_cast<unsigned char>(c))) return std::nullopt;
    if (param.front() == '=') return std::nullopt;
    out.params.emplace_back(param);
    rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp);
  }
  return out;
}

std::string mail_from_line(std::string_view address, std::string_view params) {
  std::string line = "MAIL FROM:<";
  line += address;
  line += '>';
  if (!params.empty()) {
    line += ' ';
    line += params;
  }
  return line;
}

}  // namespace xr::smtp
