#include "protocols/dot_stuffing.hpp"

namespace xr::smtp {

std::size_t DotDecoder::decode(std::string_view in, std::string& out) {
  std::size_t i = 0;
  while (i < in.size() && state_ != State::done) {
    const char c = in[i];
    switch (state_) {
      case State::mid: {
        // Fast path: copy everything up to the next CR in one go.
        std::size_t cr = in.find('\r', i);
        if (cr == std::string_view::npos) {
          out.append(in.substr(i));
          return in.size();
        }
        out.append(in.substr(i, cr + 1 - i));
        i = cr + 1;
        state_ = State::cr;
        continue;
      }
      case State::cr:
        out += c;
        state_ = c == '\n' ? State::bol : c == '\r' ? State::cr : State::mid;
        break;
      case State::bol:
        if (c == '.') {
          state_ = State::bol_dot;  // dropped: either stuffing or the terminator
        } else {
          out += c;
          state_ = c == '\r' ? State::cr : State::mid;
        }
        break;
      case State::bol_dot:
        if (c == '\r') {
          state_ = State::bol_dot_cr;
        } else {
          // ".." or ".x": the first dot is removed (RFC 5321 4.5.2).
          out += c;
          state_ = State::mid;
        }
        break;
      case State::bol_dot_cr:
        if (c == '\n') {
          state_ = State::done;
        } else {
          // ".\r" + something else: a line starting with "." whose dot goes.
          out += '\r';
          out += c;
          state_ = c == '\r' ? State::cr : State::mid;
        }
        break;
      case State::done:
        break;
    }
    ++i;
  }
  return i;
}

void DotEncoder::encode(std::string_view in, std::string& out) {
  out.reserve(out.size() + in.size() + in.size() / 64 + 1);
  for (char c : in) {
    if (at_line_start_ && c == '.') out += '.';
    out += c;
    at_line_start_ = c == '\n' && after_cr_;
    after_cr_ = c == '\r';
  }
}

void DotEncoder::finish(std::string& out) {
  out += at_line_start_ ? ".\r\n" : "\r\n.\r\n";
  at_line_start_ = true;
  after_cr_ = false;
}

}  // namespace xr::smtp
