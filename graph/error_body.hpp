// Graph's error body: {"error": {"code": "...", "message": "...", ...}}.
#pragma once

#include <string>
#include <string_view>

namespace xr::graph {

struct GraphError {
  std::string code;     // e.g. "ErrorSendAsDenied"; empty when the body has none
  std::string message;  // one line, printable, capped (log- and reply-safe)
};

// Never throws; a body that is not Graph's JSON gives empty fields.
GraphError parse_error_body(std::string_view body);

// For text that goes into a log line or an SMTP reply: control characters
// (CR, LF, tabs...) become spaces, runs of spaces one, and at most `cap`
// bytes are kept (cut at a UTF-8 character boundary, "..." added).
std::string one_line(std::string_view text, std::size_t cap);

}  // namespace xr::graph
