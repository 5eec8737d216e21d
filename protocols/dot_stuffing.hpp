// SMTP DATA transparency (RFC 5321 4.5.2): a line starting with "." gets an
// extra "." on the wire, and "CRLF . CRLF" ends the message. Incremental in
// both directions, so a message never has to be held in memory whole.
//
// Many devices end lines with a bare LF. Exchange rejects those messages, so
// the decoder turns every bare LF into CRLF (and counts them); a line of "."
// ended by a bare LF ends the message, as such devices mean it to. This is not
// an opening for SMTP smuggling: the relay re-encodes what it decoded, so the
// next hop sees exactly the message boundaries the relay saw. The encoder
// treats any LF as a line end too, so the two agree byte for byte.
//
// A bare CR (one not followed by LF) is different: it would reach the next
// hop unchanged, and a server that reads "\r.\r" as the end of the message
// would see a second message the relay never judged (SMTP smuggling). The
// decoder counts bare CRs; the SMTP machine refuses any message with one.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace xr::smtp {

// Wire bytes -> message bytes.
class DotDecoder {
 public:
  // Appends the unstuffed bytes of `in` to `out` and returns how many input
  // bytes were used: all of them, or fewer when the terminator was reached
  // (done() is then true and the rest of `in` is not part of the message).
  // The CRLF before the final "." belongs to the message.
  std::size_t decode(std::string_view in, std::string& out);
  bool done() const { return state_ == State::done; }
  // Bare LFs turned into CRLF since the last reset().
  std::size_t bare_lf_count() const { return bare_lf_; }
  // CRs not followed by LF since the last reset() (passed on as content).
  std::size_t bare_cr_count() const { return bare_cr_; }
  // Where in `out` the first bare CR found by the last decode() call is, or
  // npos. A CR is held back until the next byte shows whether it is bare, so
  // this does not depend on how the input was split.
  std::size_t first_bare_cr() const { return first_bare_cr_; }
  void reset() {
    state_ = State::bol;
    bare_lf_ = 0;
    bare_cr_ = 0;
    first_bare_cr_ = std::string::npos;
  }

 private:
  // bol_dot / bol_dot_cr hold back the "." (and "\r") that may turn out to be
  // the terminator, cr holds back a CR until its LF; nothing else is ever
  // held back.
  enum class State { bol, bol_dot, bol_dot_cr, mid, cr, done };
  State state_ = State::bol;
  std::size_t bare_lf_ = 0;
  std::size_t bare_cr_ = 0;
  std::size_t first_bare_cr_ = std::string::npos;
  // The held-back CR turned out bare: it is content, at out's end.
  void bare_cr(std::string& out) {
    if (first_bare_cr_ == std::string::npos) first_bare_cr_ = out.size();
    ++bare_cr_;
    out += '\r';
  }
  void bare_lf(std::string& out) {
    out += "\r\n";
    ++bare_lf_;
    state_ = State::bol;
  }
};

// Message bytes -> wire bytes.
class DotEncoder {
 public:
  void encode(std::string_view in, std::string& out);
  // Appends the terminator (with the CRLF the message lacks, if any) and
  // resets for the next message.
  void finish(std::string& out);

 private:
  bool at_line_start_ = true;
};

}  // namespace xr::smtp
