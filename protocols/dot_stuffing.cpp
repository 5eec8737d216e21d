#include "protocols/dot_stuffing.hpp"

#include <algorithm>
#include <cstring>

namespace xr::smtp {

std::size_t DotDecoder::decode(std::string_view in, std::string& out) {
  first_bare_cr_ = std::string::npos;
  // Where the next CR and LF at or after the scan position are (npos: none
  // left in `in`). Each is searched for again only once the scan has passed
  // it, so the fast path below reads every input byte a bounded number of
  // times whatever the mix of CRs and LFs (find_first_of("\r\n") ran
  // memchr over the two-byte set once per input byte).
  std::size_t next_cr = 0, next_lf = 0;
  bool cr_known = false, lf_known = false;
  const auto find = [&in](char c, std::size_t from) {
    const void* p = std::memchr(in.data() + from, c, in.size() - from);
    return p ? static_cast<std::size_t>(static_cast<const char*>(p) - in.data()) : std::string_view::npos;
  };
  std::size_t i = 0;
  while (i < in.size() && state_ != State::done) {
    const char c = in[i];
    switch (state_) {
      case State::mid: {
        // Fast path. Ordinary lines ("text CRLF", the next line not starting
        // with ".", CR or LF) need no change at all: they are copied as one
        // span, however many follow each other. Anything else ends the span
        // and goes through the byte states below.
        const std::size_t span = i;
        for (;;) {
          if (!cr_known || (next_cr != std::string_view::npos && next_cr < i)) {
            next_cr = find('\r', i);
            cr_known = true;
          }
          if (!lf_known || (next_lf != std::string_view::npos && next_lf < i)) {
            next_lf = find('\n', i);
            lf_known = true;
          }
          const std::size_t end = std::min(next_cr, next_lf);
          if (end == std::string_view::npos) {
            out.append(in.substr(span));
            return in.size();
          }
          if (in[end] == '\r' && end + 1 < in.size() && in[end + 1] == '\n') {
            i = end + 2;
            if (i < in.size() && in[i] != '.' && in[i] != '\r' && in[i] != '\n') continue;
            out.append(in.substr(span, i - span));
            state_ = State::bol;
            break;
          }
          out.append(in.substr(span, end - span));
          i = end + 1;
          if (in[end] == '\n') bare_lf(out);
          else state_ = State::cr;  // held back until its LF (or the next byte shows it bare)
          break;
        }
        continue;
      }
      case State::cr:
        if (c == '\n') {
          out += "\r\n";
          state_ = State::bol;
        } else {
          bare_cr(out);  // content, counted: the machine refuses the message
          if (c == '\r') {
            state_ = State::cr;
          } else {
            out += c;
            state_ = State::mid;
          }
        }
        break;
      case State::bol:
        if (c == '.') {
          state_ = State::bol_dot;  // dropped: either stuffing or the terminator
        } else if (c == '\n') {
          bare_lf(out);
        } else if (c == '\r') {
          state_ = State::cr;
        } else {
          out += c;
          state_ = State::mid;
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
          // ".\r" + something else: a line starting with "." whose dot goes,
          // and a bare CR.
          bare_cr(out);
          if (c == '\r') {
            state_ = State::cr;
          } else {
            out += c;
            state_ = State::mid;
          }
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
  // Line by line: a "." is added before a line's first byte when that is a
  // "."; the rest of the line (through its LF, any LF ends a line) is copied
  // as it is.
  std::size_t i = 0;
  while (i < in.size()) {
    if (at_line_start_ && in[i] == '.') out += '.';
    const void* p = std::memchr(in.data() + i, '\n', in.size() - i);
    if (!p) {
      out.append(in.substr(i));
      at_line_start_ = false;
      return;
    }
    const std::size_t end = static_cast<std::size_t>(static_cast<const char*>(p) - in.data()) + 1;
    out.append(in.substr(i, end - i));
    at_line_start_ = true;
    i = end;
  }
}

void DotEncoder::finish(std::string& out) {
  out += at_line_start_ ? ".\r\n" : "\r\n.\r\n";
  at_line_start_ = true;
}

}  // namespace xr::smtp
