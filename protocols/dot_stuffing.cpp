#include "protocols/dot_stuffing.hpp"

namespace xr::smtp {

std::size_t DotDecoder::decode(std::string_view in, std::string& out) {
  std::size_t i = 0;
  while (i < in.size() && state_ != State::done) {
    const char c = in[i];
    switch (state_) {
      case State::mid: {
        // Fast path: copy everything up to the next CR or LF in one go.
        const std::size_t end = in.find_first_of("\r\n", i);
        if (end == std::string_view::npos) {
          out.append(in.substr(i));
          return in.size();
        }
        out.append(in.substr(i, end - i));
        i = end + 1;
        if (in[end] == '\n') {
          bare_lf(out);
        } else {
          out += '\r';
          state_ = State::cr;
        }
        continue;
      }
      case State::cr:
        if (c == '\n') {
          out += '\n';
          state_ = State::bol;
        } else {
          out += c;  // a bare CR stays content
          state_ = c == '\r' ? State::cr : State::mid;
        }
        break;
      case State::bol:
        if (c == '.') {
          state_ = State::bol_dot;  // dropped: either stuffing or the terminator
        } else if (c == '\n') {
          bare_lf(out);
        } else {
          out += c;
          state_ = c == '\r' ? State::cr : State::mid;
        }
        break;
      case State::bol_dot:
        if (c == '\r') {
          state_ = State::bol_dot_cr;
        } else if (c == '\n') {
          ++bare_lf_;
          state_ = State::done;  // ".\n": the terminator as LF-only devices send it
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
    at_line_start_ = c == '\n';
  }
}

void DotEncoder::finish(std::string& out) {
  out += at_line_start_ ? ".\r\n" : "\r\n.\r\n";
  at_line_start_ = true;
}

}  // namespace xr::smtp
