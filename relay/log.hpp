// Log lines for people who tail them: one line per event,
//   <ts> <level> session=<id> event=<name> key=value ...
// or one JSON object per line. Values with spaces or quotes are quoted.
// Secrets never get here: callers pass only names, addresses, codes, sizes.
#pragma once

#include "conf/config.hpp"

#include <atomic>
#include <cstdio>
#include <initializer_list>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

namespace xr::relay {

struct Field {
  std::string_view key;
  std::string value;
  Field(std::string_view k, std::string v) : key(k), value(std::move(v)) {}
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v ? v : "") {}
  template <typename Int>
    requires std::is_integral_v<Int>
  Field(std::string_view k, Int v) : key(k), value(std::to_string(v)) {}
};

class Logger {
 public:
  explicit Logger(std::FILE* out = stderr);

  void configure(conf::LogLevel level, conf::LogFormat format);
  bool enabled(conf::LogLevel level) const { return int(level) <= level_.load(); }

  // session may be empty for process-wide events.
  void log(conf::LogLevel level, std::string_view session, std::string_view event, std::span<const Field> fields);
  void log(conf::LogLevel level, std::string_view session, std::string_view event,
           std::initializer_list<Field> fields) {
    log(level, session, event, std::span<const Field>(fields.begin(), fields.size()));
  }

  void error(std::string_view s, std::string_view e, std::initializer_list<Field> f) { log(conf::LogLevel::error, s, e, f); }
  void warn(std::string_view s, std::string_view e, std::initializer_list<Field> f) { log(conf::LogLevel::warn, s, e, f); }
  void info(std::string_view s, std::string_view e, std::initializer_list<Field> f) { log(conf::LogLevel::info, s, e, f); }
  void debug(std::string_view s, std::string_view e, std::initializer_list<Field> f) { log(conf::LogLevel::debug, s, e, f); }

  // Formats one line (without newline); exposed for tests.
  std::string format(conf::LogLevel level, std::string_view session, std::string_view event,
                     std::span<const Field> fields) const;
  std::string format(conf::LogLevel level, std::string_view session, std::string_view event,
                     std::initializer_list<Field> fields) const {
    return format(level, session, event, std::span<const Field>(fields.begin(), fields.size()));
  }

 private:
  std::FILE* out_;
  std::atomic<int> level_{int(conf::LogLevel::info)};
  std::atomic<int> format_{int(conf::LogFormat::text)};
  bool journal_ = false;  // stderr is the journal: prefix <N> syslog priorities
  std::mutex mutex_;
};

}  // namespace xr::relay
