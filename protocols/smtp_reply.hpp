// SMTP replies: the value type, formatting, and an incremental parser for
// replies read from an upstream server (multi-line "250-..." continuation).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xr::smtp {

struct Reply {
  int code = 0;                    // 3 digits
  std::vector<std::string> lines;  // text after "NNN-"/"NNN ", without CRLF
  // "NNN-line\r\n...NNN last\r\n" exactly as a server sends it.
  std::string wire() const;
  // The enhanced status code at the start of the first line ("5.7.3"), if any.
  std::string enhanced() const;
  // First line joined, for logs: "535 5.7.3 Authentication unsuccessful".
  std::string summary() const;
  int klass() const { return code / 100; }  // 2, 3, 4, 5
  bool positive() const { return code >= 200 && code < 400; }
};

// A one-line reply "code text".
Reply make_reply(int code, std::string text);

// Reads replies from bytes. Feed whatever arrives; take complete replies.
class ReplyParser {
 public:
  explicit ReplyParser(std::size_t max_line = 4096, std::size_t max_lines = 100);
  enum class Status { need_more, reply, error };
  // Consumes bytes from `in` (sets `consumed`); stops after one complete reply.
  Status feed(std::string_view in, std::size_t& consumed);
  Reply take();               // after Status::reply
  const std::string& error() const { return error_; }  // after Status::error

 private:
  std::size_t max_line_, max_lines_;
  std::string line_;
  Reply current_;
  std::string error_;
};

}  // namespace xr::smtp
