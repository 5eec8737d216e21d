#pragma once
// One line typed at (or piped into) a command: `init`'s questions and
// `hash-password`'s password.

#include <iosfwd>
#include <string>

namespace xr::relay::cli {

// Prints `prompt` to `err` and reads one line from `in`, without its "\r\n".
// `hidden` with stdin a terminal: echo goes off before the prompt shows, so
// nothing typed or pasted after it is echoed; TCSANOW, not TCSAFLUSH, so
// input typed ahead is kept, not thrown away.
bool read_line(std::istream& in, std::ostream& err, const std::string& prompt, std::string& line, bool hidden);

}  // namespace xr::relay::cli
