// Typed reading of yaml-cpp nodes. Every mistake goes to Diagnostics with the
// node's place and the dotted key; the readers return nullopt and the loader
// carries on, so one run reports every error.
#pragma once

#include "conf/diagnostics.hpp"

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace xr::conf {

// A value with where it came from.
struct Entry {
  YAML::Node value;
  YAML::Mark key_mark;  // the key's place (or the item's, in a list)
  std::string path;     // dotted key, e.g. "tenants.contoso.smtp.port"
  // Where to point for a problem with the value: yaml-cpp places an empty
  // value at the next token, possibly lines away, so those point at the key.
  YAML::Mark mark() const;
};

std::string child_path(const std::string& parent, const std::string& key);

// One YAML mapping. On construction it reports a non-mapping value, keys that
// are not in `allowed` (with a did-you-mean) and keys written twice.
class MapReader {
 public:
  MapReader(Diagnostics& diag, const Entry& entry, std::vector<std::string> allowed);

  bool is_map() const { return is_map_; }
  std::optional<Entry> get(const std::string& key) const;
  // Reports a missing key at the mapping itself; `hint` tells what to write.
  std::optional<Entry> require(const std::string& key, const std::string& hint) const;
  // Every key in file order (for mappings of names such as `users:`).
  const std::vector<std::pair<std::string, Entry>>& entries() const { return entries_; }
  const Entry& self() const { return self_; }

 private:
  Diagnostics& diag_;
  Entry self_;
  bool is_map_ = false;
  std::vector<std::pair<std::string, Entry>> entries_;  // first occurrence of each key
  std::set<std::string> suggested_;  // keys a typo was matched to: not reported missing again
};

// Scalars. A null value (`key:` with nothing, `~`, `null`) is an error for all.
std::optional<std::string> read_string(Diagnostics& diag, const Entry& e);  // non-empty
std::optional<bool> read_bool(Diagnostics& diag, const Entry& e);
std::optional<std::uint64_t> read_uint(Diagnostics& diag, const Entry& e, std::uint64_t min, std::uint64_t max);
std::optional<std::chrono::seconds> read_duration(Diagnostics& diag, const Entry& e);
std::optional<std::size_t> read_size(Diagnostics& diag, const Entry& e);

// One of `names`; returns its index.
std::optional<std::size_t> read_choice(Diagnostics& diag, const Entry& e, const std::vector<std::string>& names);

template <typename Enum>
std::optional<Enum> read_enum(Diagnostics& diag, const Entry& e,
                              const std::vector<std::pair<std::string, Enum>>& table) {
  std::vector<std::string> names;
  for (const auto& [n, v] : table) names.push_back(n);
  auto i = read_choice(diag, e, names);
  if (!i) return std::nullopt;
  return table[*i].second;
}

// A sequence; `example` shows the expected form in the error ("[smtp, imap]").
std::optional<std::vector<Entry>> read_list(Diagnostics& diag, const Entry& e, const std::string& example);

}  // namespace xr::conf
