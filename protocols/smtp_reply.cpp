#include "protocols/smtp_reply.hpp"

namespace xr::smtp {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// One dotted part of an enhanced status code: 1-3 digits.
std::size_t digits_at(std::string_view s, std::size_t pos) {
  std::size_t n = 0;
  while (pos + n < s.size() && n < 4 && is_digit(s[pos + n])) ++n;
  return n;
}

}  // namespace

std::string Reply::wire() const {
  const std::string code_text = std::to_string(code);
  if (lines.empty()) return code_text + "\r\n";
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    out += code_text;
    out += i + 1 < lines.size() ? '-' : ' ';
    out += lines[i];
    out += "\r\n";
  }
  return out;
}

std::string Reply::enhanced() const {
  if (lines.empty()) return {};
  std::string_view s = lines.front();
  // class "." subject "." detail (RFC 3463): class is 2, 4 or 5.
  if (s.empty() || (s[0] != '2' && s[0] != '4' && s[0] != '5')) return {};
  std::size_t pos = 1;
  for (int part = 0; part < 2; ++part) {
    if (pos >= s.size() || s[pos] != '.') return {};
    std::size_t n = digits_at(s, pos + 1);
    if (n == 0 || n > 3) return {};
    pos += 1 + n;
  }
  if (pos < s.size() && s[pos] != ' ') return {};
  return std::string(s.substr(0, pos));
}

std::string Reply::summary() const {
  std::string out = std::to_string(code);
  if (!lines.empty() && !lines.front().empty()) {
    out += ' ';
    out += lines.front();
  }
  return out;
}

Reply make_reply(int code, std::string text) {
  Reply r;
  r.code = code;
  r.lines.push_back(std::move(text));
  return r;
}

ReplyParser::ReplyParser(std::size_t max_line, std::size_t max_lines)
    : max_line_(max_line), max_lines_(max_lines) {}

ReplyParser::Status ReplyParser::feed(std::string_view in, std::size_t& consumed) {
  consumed = 0;
  if (!error_.empty()) return Status::error;
  while (consumed < in.size()) {
    std::string_view rest = in.substr(consumed);
    std::size_t lf = rest.find('\n');
    std::string_view piece = lf == std::string_view::npos ? rest : rest.substr(0, lf);
    // +1: room for the CR of a CRLF that is still on its way.
    if (line_.size() + piece.size() > max_line_ + 1) {
      error_ = "reply line longer than " + std::to_string(max_line_) + " bytes";
      return Status::error;
    }
    line_.append(piece);
    consumed += piece.size();
    if (lf == std::string_view::npos) return Status::need_more;
    ++consumed;  // the LF

    // Bare LF is tolerated: some servers (and test tools) send it.
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    if (line_.size() > max_line_) {
      error_ = "reply line longer than " + std::to_string(max_line_) + " bytes";
      return Status::error;
    }
    if (line_.size() < 3 || !is_digit(line_[0]) || !is_digit(line_[1]) || !is_digit(line_[2]) ||
        line_[0] < '1' || line_[0] > '5') {
      error_ = "reply line does not start with a 3-digit code";
      return Status::error;
    }
    if (line_.size() > 3 && line_[3] != ' ' && line_[3] != '-') {
      error_ = "reply code not followed by ' ' or '-'";
      return Status::error;
    }
    const int code = (line_[0] - '0') * 100 + (line_[1] - '0') * 10 + (line_[2] - '0');
    if (!current_.lines.empty() && code != current_.code) {
      error_ = "reply code changed between lines of one reply";
      return Status::error;
    }
    if (current_.lines.size() >= max_lines_) {
      error_ = "reply has more than " + std::to_string(max_lines_) + " lines";
      return Status::error;
    }
    current_.code = code;
    current_.lines.push_back(line_.size() > 4 ? line_.substr(4) : std::string());
    const bool last = line_.size() == 3 || line_[3] == ' ';
    line_.clear();
    if (last) {
      // A connection waits between replies, often for long: it keeps no
      // room for the longest line it has seen.
      std::string().swap(line_);
      return Status::reply;
    }
  }
  return Status::need_more;
}

Reply ReplyParser::take() {
  Reply r = std::move(current_);
  current_ = Reply{};
  return r;
}

}  // namespace xr::smtp
