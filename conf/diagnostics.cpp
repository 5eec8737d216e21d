#include "conf/diagnostics.hpp"

#include <algorithm>

namespace xr::conf {
namespace {

ConfigError placed(const std::string& file, const YAML::Mark& mark, std::string key, std::string message) {
  ConfigError e{file, 0, 0, std::move(key), std::move(message)};
  if (!mark.is_null() && mark.line >= 0 && mark.column >= 0) {
    e.line = mark.line + 1;
    e.column = mark.column + 1;
  }
  return e;
}

void sort_by_place(std::vector<ConfigError>& v) {
  // Stable: errors found at the same place keep the order they were found in.
  std::stable_sort(v.begin(), v.end(), [](const ConfigError& a, const ConfigError& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  });
}

}  // namespace

void Diagnostics::add(const YAML::Mark& mark, std::string key, std::string message) {
  errors_.push_back(placed(file_, mark, std::move(key), std::move(message)));
}

void Diagnostics::add_unplaced(std::string key, std::string message) {
  errors_.push_back(ConfigError{file_, 0, 0, std::move(key), std::move(message)});
}

void Diagnostics::warn(const YAML::Mark& mark, std::string key, std::string message) {
  warnings_.push_back(placed(file_, mark, std::move(key), std::move(message)));
}

void Diagnostics::explain_stray_keys() {
  for (const auto& k : stray_) {
    if (k.error_index >= errors_.size() || k.mark.is_null()) continue;
    // The mapping whose last key comes closest before the stray key, whose
    // keys stand further right, and that takes this key.
    const ReadMap* best = nullptr;
    for (const auto& m : maps_) {
      if (m.last_line < 0 || m.last_line >= k.mark.line || m.key_column <= k.mark.column) continue;
      if (std::find(m.allowed.begin(), m.allowed.end(), k.name) == m.allowed.end()) continue;
      if (!best || m.last_line > best->last_line) best = &m;
    }
    if (!best) continue;
    // Nothing else may stand between: a key of another mapping after `best`
    // means the stray key is not simply its dedented last line.
    bool between = false;
    const std::string inside = best->path + ".";
    for (const auto& m : maps_)
      if (m.last_line > best->last_line && m.last_line < k.mark.line && m.path.rfind(inside, 0) != 0) between = true;
    if (between) continue;
    errors_[k.error_index].message =
        "`" + k.name + "` is indented less than its siblings (column " + std::to_string(best->key_column + 1) +
        "); did you mean to put it under `" + best->path + "`? Indent it like the keys above it";
  }
  stray_.clear();
}

std::vector<ConfigError> Diagnostics::take_sorted() {
  sort_by_place(errors_);
  return std::move(errors_);
}

std::vector<ConfigError> Diagnostics::take_warnings_sorted() {
  sort_by_place(warnings_);
  return std::move(warnings_);
}

}  // namespace xr::conf
