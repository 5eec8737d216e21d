#include "relay/log.hpp"

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <sys/stat.h>

#include <fmt/format.h>

namespace xr::relay {
namespace {

std::string timestamp() {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (unsigned char c : v)
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f) return true;
  return false;
}

// Escapes control characters so a hostile value cannot forge a log line.
void append_escaped(std::string& out, std::string_view v, bool json) {
  for (unsigned char c : v) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += json ? fmt::format("\\u{:04x}", c) : fmt::format("\\x{:02x}", c);
        } else {
          out += char(c);
        }
    }
  }
}

const char* level_name(conf::LogLevel l) {
  switch (l) {
    case conf::LogLevel::error: return "error";
    case conf::LogLevel::warn: return "warn";
    case conf::LogLevel::info: return "info";
    case conf::LogLevel::debug: return "debug";
  }
  return "info";
}

// syslog priorities for journald's stream protocol: err=3 warning=4 info=6 debug=7
int syslog_priority(conf::LogLevel l) {
  switch (l) {
    case conf::LogLevel::error: return 3;
    case conf::LogLevel::warn: return 4;
    case conf::LogLevel::info: return 6;
    case conf::LogLevel::debug: return 7;
  }
  return 6;
}

// True when stderr is the stream systemd gave us to the journal
// (JOURNAL_STREAM=<dev>:<inode> matches stderr's fstat).
bool stderr_is_journal() {
  const char* js = std::getenv("JOURNAL_STREAM");
  if (!js) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st {};
  if (fstat(2, &st) != 0) return false;
  return st.st_dev == dev && st.st_ino == ino;
}

}  // namespace

Logger::Logger(std::FILE* out) : out_(out), journal_(out == stderr && stderr_is_journal()) {}

void Logger::configure(conf::LogLevel level, conf::LogFormat format) {
  level_ = int(level);
  format_ = int(format);
}

std::string Logger::format(conf::LogLevel level, std::string_view session, std::string_view event,
                           std::span<const Field> fields) const {
  std::string line;
  line.reserve(160);
  if (conf::LogFormat(format_.load()) == conf::LogFormat::json) {
    line += "{\"ts\":\"" + timestamp() + "\",\"level\":\"" + level_name(level) + "\"";
    if (!session.empty()) {
      line += ",\"session\":\"";
      append_escaped(line, session, true);
      line += '"';
    }
    line += ",\"event\":\"";
    append_escaped(line, event, true);
    line += '"';
    for (const auto& f : fields) {
      line += ",\"";
      append_escaped(line, f.key, true);
      line += "\":\"";
      append_escaped(line, f.value, true);
      line += '"';
    }
    line += '}';
    return line;
  }
  if (journal_) line += fmt::format("<{}>", syslog_priority(level));
  else line += timestamp() + ' ';
  line += level_name(level);
  if (!session.empty()) {
    line += " session=";
    line += session;
  }
  line += " event=";
  line += event;
  for (const auto& f : fields) {
    line += ' ';
    line += f.key;
    line += '=';
    if (needs_quotes(f.value)) {
      line += '"';
      append_escaped(line, f.value, false);
      line += '"';
    } else {
      line += f.value;
    }
  }
  return line;
}

void Logger::log(conf::LogLevel level, std::string_view session, std::string_view event,
                 std::span<const Field> fields) {
  if (!enabled(level)) return;
  std::string line = format(level, session, event, fields);
  line += '\n';
  std::lock_guard lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

}  // namespace xr::relay
