#include "relay/cli/terminal.hpp"

#include <termios.h>
#include <unistd.h>

#include <istream>
#include <ostream>

namespace xr::relay::cli {

bool read_line(std::istream& in, std::ostream& err, const std::string& prompt, std::string& line, bool hidden) {
  termios old{};
  const bool quiet = hidden && ::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &old) == 0;
  if (quiet) {
    termios t = old;
    t.c_lflag &= ~tcflag_t(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &t);
  }
  err << prompt << std::flush;
  const bool ok = static_cast<bool>(std::getline(in, line));
  if (quiet) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
    err << "\n";
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return ok;
}

}  // namespace xr::relay::cli
