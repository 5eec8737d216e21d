#include "conf/diagnostics.hpp"

#include <algorithm>

namespace xr::conf {

void Diagnostics::add(const YAML::Mark& mark, std::string key, std::string message) {
  ConfigError e{file_, 0, 0, std::move(key), std::move(message)};
  if (!mark.is_null() && mark.line >= 0 && mark.column >= 0) {
    e.line = mark.line + 1;
    e.column = mark.column + 1;
  }
  errors_.push_back(std::move(e));
}

void Diagnostics::add_unplaced(std::string key, std::string message) {
  errors_.push_back(ConfigError{file_, 0, 0, std::move(key), std::move(message)});
}

std::vector<ConfigError> Diagnostics::take_sorted() {
  // Stable: errors found at the same place keep the order they were found in.
  std::stable_sort(errors_.begin(), errors_.end(), [](const ConfigError& a, const ConfigError& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  });
  return std::move(errors_);
}

}  // namespace xr::conf
