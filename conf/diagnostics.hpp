// Collects every config error (and warning) with its place, so one run
// reports them all.
#pragma once

#include "conf/config.hpp"

#include <yaml-cpp/mark.h>

#include <string>
#include <vector>

namespace xr::conf {

class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  // `mark` is yaml-cpp's 0-based position; a null mark gives an error
  // without line:column.
  void add(const YAML::Mark& mark, std::string key, std::string message);
  void add_unplaced(std::string key, std::string message);
  // Something the relay runs with but that is likely a mistake:
  // check-config prints it, `run` logs it at warn.
  void warn(const YAML::Mark& mark, std::string key, std::string message);

  bool empty() const { return errors_.empty(); }
  // The errors in file order (unplaced ones first).
  std::vector<ConfigError> take_sorted();
  std::vector<ConfigError> take_warnings_sorted();

  // A key that is not allowed where it stands (unknown, or a name in a map
  // of names whose value has the wrong shape): if a mapping above it takes
  // that key, it was probably indented less than its siblings there.
  // `error_index`: the error to rewrite (errors_.size() before adding it).
  struct StrayKey {
    std::size_t error_index;
    std::string name;
    YAML::Mark mark;
  };
  // A mapping that was read, with the keys it takes, for the above.
  struct ReadMap {
    std::string path;
    std::vector<std::string> allowed;
    int key_column = -1;  // 0-based column of its keys
    int last_line = -1;   // 0-based line of its last key
  };
  std::size_t error_count() const { return errors_.size(); }
  void note_stray_key(StrayKey k) { stray_.push_back(std::move(k)); }
  void note_map(ReadMap m) { maps_.push_back(std::move(m)); }
  // Rewrites each stray key's error when a mapping just above it, indented
  // deeper, takes that key: "indented less than its siblings; did you mean
  // to put it under X?".
  void explain_stray_keys();

 private:
  std::string file_;
  std::vector<ConfigError> errors_;
  std::vector<ConfigError> warnings_;
  std::vector<StrayKey> stray_;
  std::vector<ReadMap> maps_;
};

}  // namespace xr::conf
