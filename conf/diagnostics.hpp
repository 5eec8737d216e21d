// Collects every config error with its place, so one run reports them all.
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

  bool empty() const { return errors_.empty(); }
  // The errors in file order (unplaced ones first).
  std::vector<ConfigError> take_sorted();

 private:
  std::string file_;
  std::vector<ConfigError> errors_;
};

}  // namespace xr::conf
