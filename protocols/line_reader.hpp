// CRLF-terminated lines from a byte stream fed in arbitrary pieces, with a
// length limit, plus raw byte runs (IMAP literals). Used by the IMAP and POP3
// machines and clients.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <algorithm>

namespace xr {

class LineReader {
 public:
  explicit LineReader(std::size_t max_line) : max_(max_line) {}

  // The buffer may hold a LOGIN or AUTH line (a password): it grows, drops
  // consumed bytes and dies without leaving copies (protocols/secret.hpp).
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;
  LineReader(LineReader&&) = default;
  LineReader& operator=(LineReader&&) = default;

  void feed(std::string_view bytes);

  enum class Status { line, need_more, too_long };
  // `line` gets the next line without CRLF (a bare LF also ends a line).
  // too_long is reported once for a line longer than the limit; its bytes up
  // to the next LF are then dropped without being buffered.
  Status next(std::string& line);

  // Up to `n` raw bytes appended to `out`; returns how many.
  std::size_t take_bytes(std::string& out, std::size_t n);

  std::string take_rest();  // everything buffered, unconsumed
  void clear();
  bool empty() const { return pos_ >= buf_.size(); }

 private:
  void consume(std::size_t new_pos);
  void compact();
  std::size_t max_;
  std::string buf_;
  std::size_t pos_ = 0;
  bool discarding_ = false;
};

}  // namespace xr
