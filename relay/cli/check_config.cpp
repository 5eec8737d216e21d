#include "relay/cli/check_config.hpp"

#include <algorithm>
#include <vector>

namespace xr::relay::cli {

std::string format_warning(const conf::ConfigError& w) {
  std::string out = w.file;
  if (w.line > 0) out += ":" + std::to_string(w.line) + ":" + std::to_string(w.column);
  out += ": warning: ";
  if (!w.key.empty()) out += w.key + ": ";
  return out + w.message;
}

int run_check_config(const std::string& path, std::ostream& out, std::ostream& err) {
  const auto loaded = conf::load_config(path);
  struct Line {
    int line, column;
    std::string text;
  };
  std::vector<Line> lines;
  for (const auto& e : loaded.errors) lines.push_back({e.line, e.column, e.format()});
  for (const auto& w : loaded.warnings) lines.push_back({w.line, w.column, format_warning(w)});
  std::stable_sort(lines.begin(), lines.end(),
                   [](const Line& a, const Line& b) { return std::pair(a.line, a.column) < std::pair(b.line, b.column); });
  for (const auto& l : lines) err << l.text << "\n";
  const auto count = [](std::size_t n, const char* what) {
    return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
  };
  if (!loaded.config) {
    err << count(loaded.errors.size(), "error");
    if (!loaded.warnings.empty()) err << ", " << count(loaded.warnings.size(), "warning");
    err << "\n";
    return 1;
  }
  if (!loaded.warnings.empty()) err << count(loaded.warnings.size(), "warning") << "\n";
  out << "OK\n";
  // Where each tenant's traffic goes, when not directly: a proxy taken from
  // HTTPS_PROXY depends on the environment check-config ran in, which may
  // not be the service's.
  for (const auto& [name, t] : loaded.config->tenants) {
    if (!t.proxy) continue;
    out << "tenant " << name << ": proxy " << t.proxy->url << " (from " << t.proxy->origin << ")";
    if (t.proxy->auth_file) out << ", Basic auth from " << *t.proxy->auth_file;
    if (!t.no_proxy.empty()) {
      out << ", direct for";
      for (const auto& n : t.no_proxy) out << " " << n;
    }
    out << "\n";
  }
  return 0;
}

}  // namespace xr::relay::cli
