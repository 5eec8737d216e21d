#include "conf/yaml_reader.hpp"

#include "conf/suggest.hpp"
#include "conf/units.hpp"

#include <algorithm>
#include <charconv>

namespace xr::conf {
namespace {

std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Scalar: return "`" + n.Scalar() + "`";
    default: return "nothing";
  }
}

// The scalar text, or an error "expected <what>, got ...".
std::optional<std::string> scalar(Diagnostics& diag, const Entry& e, const std::string& what) {
  if (e.value.IsScalar()) return e.value.Scalar();
  diag.add(e.mark(), e.path, "expected " + what + ", got " + describe(e.value));
  return std::nullopt;
}

}  // namespace

YAML::Mark Entry::mark() const {
  if (!value.IsDefined() || value.IsNull() || value.Mark().is_null()) return key_mark;
  return value.Mark();
}

std::string child_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

MapReader::MapReader(Diagnostics& diag, const Entry& entry, std::vector<std::string> allowed)
    : diag_(diag), self_(entry) {
  if (!entry.value.IsMap()) {
    std::string example = allowed.empty() ? "name: ..." : allowed.front() + ": ...";
    // A scalar where a mapping belongs may be a key that slid left out of
    // the mapping above (`tenants.client_secret_file: x`).
    std::string name = entry.path.substr(entry.path.rfind('.') == std::string::npos ? 0 : entry.path.rfind('.') + 1);
    if (entry.value.IsScalar() && !entry.key_mark.is_null() && name.find('[') == std::string::npos)
      diag_.note_stray_key({diag_.error_count(), name, entry.key_mark});
    diag_.add(entry.mark(), entry.path, "expected a mapping (" + example + "), got " + describe(entry.value));
    return;
  }
  is_map_ = true;
  if (!allowed.empty()) {
    Diagnostics::ReadMap seen{entry.path, allowed, -1, -1};
    for (const auto kv : entry.value) {
      const YAML::Mark m = kv.first.Mark();
      if (m.is_null()) continue;
      if (seen.key_column < 0) seen.key_column = m.column;
      seen.last_line = std::max(seen.last_line, m.line);
    }
    diag_.note_map(std::move(seen));
  }
  // By value: yaml-cpp's iterator hands out temporaries, so a reference into
  // `it->first` would dangle.
  for (const auto kv : entry.value) {
    const YAML::Node k = kv.first;
    if (!k.IsScalar() || k.Scalar().empty()) {
      diag_.add(k.Mark(), entry.path, "expected a plain name as key");
      continue;
    }
    std::string name = k.Scalar();
    Entry child{kv.second, k.Mark(), child_path(entry.path, name)};
    bool duplicate = false;
    for (const auto& [seen, first] : entries_) {
      if (seen != name) continue;
      duplicate = true;
      // yaml-cpp would silently pick one of the two: make the admin choose.
      diag_.add(k.Mark(), child.path,
                "`" + name + "` appears twice (first at line " + std::to_string(first.key_mark.line + 1) +
                    "); remove or rename one");
    }
    if (duplicate) continue;
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      diag_.note_stray_key({diag_.error_count(), name, k.Mark()});
      auto guess = suggest(name, allowed);
      if (guess) suggested_.insert(*guess);
      std::string msg = "unknown key `" + name + "`";
      msg += guess ? "; did you mean `" + *guess + "`?" : "; expected one of: " + [&] {
        std::string all;
        for (const auto& a : allowed) all += (all.empty() ? "" : ", ") + a;
        return all;
      }();
      diag_.add(k.Mark(), child.path, msg);
      continue;
    }
    entries_.emplace_back(std::move(name), std::move(child));
  }
}

std::optional<Entry> MapReader::get(const std::string& key) const {
  for (const auto& [name, e] : entries_)
    if (name == key) return e;
  return std::nullopt;
}

std::optional<Entry> MapReader::require(const std::string& key, const std::string& hint) const {
  if (!is_map_) return std::nullopt;
  auto e = get(key);
  if (!e && !suggested_.count(key)) {
    diag_.add(self_.mark(), child_path(self_.path, key), "missing required key `" + key + "`; " + hint);
  }
  return e;
}

std::optional<std::string> read_string(Diagnostics& diag, const Entry& e) {
  auto s = scalar(diag, e, "a string");
  if (s && s->empty()) {
    diag.add(e.mark(), e.path, "must not be empty");
    return std::nullopt;
  }
  return s;
}

std::optional<bool> read_bool(Diagnostics& diag, const Entry& e) {
  auto s = scalar(diag, e, "true or false");
  if (!s) return std::nullopt;
  // YAML 1.2 booleans only: `yes`/`on` are YAML 1.1 and surprise people.
  if (*s == "true" || *s == "True" || *s == "TRUE") return true;
  if (*s == "false" || *s == "False" || *s == "FALSE") return false;
  diag.add(e.mark(), e.path, "expected true or false, got `" + *s + "`");
  return std::nullopt;
}

std::optional<std::uint64_t> read_uint(Diagnostics& diag, const Entry& e, std::uint64_t min, std::uint64_t max) {
  auto s = scalar(diag, e, "a number");
  if (!s) return std::nullopt;
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
  std::string range = " from " + std::to_string(min) + " to " + std::to_string(max);
  if (s->empty() || end != s->data() + s->size() || ec == std::errc::invalid_argument) {
    diag.add(e.mark(), e.path, "expected a number" + range + ", got `" + *s + "`");
    return std::nullopt;
  }
  if (ec != std::errc{} || v < min || v > max) {
    diag.add(e.mark(), e.path, "`" + *s + "` is out of range; expected a number" + range);
    return std::nullopt;
  }
  return v;
}

std::optional<std::chrono::seconds> read_duration(Diagnostics& diag, const Entry& e) {
  auto s = scalar(diag, e, "a duration");
  if (!s) return std::nullopt;
  auto d = parse_duration(*s);
  if (!d) diag.add(e.mark(), e.path, "expected a duration such as 30 (seconds), \"30s\", \"5m\", \"1h\" or \"5d\", got `" + *s + "`");
  return d;
}

std::optional<std::size_t> read_size(Diagnostics& diag, const Entry& e) {
  auto s = scalar(diag, e, "a size");
  if (!s) return std::nullopt;
  auto v = parse_size(*s);
  if (!v) diag.add(e.mark(), e.path, "expected a size such as 1048576 (bytes), \"512K\", \"35M\" or \"1G\", got `" + *s + "`");
  return v;
}

std::optional<std::size_t> read_choice(Diagnostics& diag, const Entry& e, const std::vector<std::string>& names) {
  std::string all;
  for (const auto& n : names) all += (all.empty() ? "" : " | ") + n;
  auto s = scalar(diag, e, "one of " + all);
  if (!s) return std::nullopt;
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == *s) return i;
  diag.add(e.mark(), e.path, "`" + *s + "` is not one of " + all + did_you_mean(*s, names));
  return std::nullopt;
}

std::optional<std::vector<Entry>> read_list(Diagnostics& diag, const Entry& e, const std::string& example) {
  if (!e.value.IsSequence()) {
    diag.add(e.mark(), e.path, "expected a list such as " + example + ", got " + describe(e.value));
    return std::nullopt;
  }
  std::vector<Entry> items;
  std::size_t i = 0;
  for (const auto& item : e.value) {
    YAML::Mark m = item.IsNull() || item.Mark().is_null() ? e.mark() : item.Mark();
    items.push_back(Entry{item, m, e.path + "[" + std::to_string(i++) + "]"});
  }
  return items;
}

}  // namespace xr::conf
