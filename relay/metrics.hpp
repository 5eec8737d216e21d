// The relay's counters and gauges, rendered in Prometheus' text exposition
// format (version 0.0.4) for the admin endpoint's /metrics. Every family is
// declared once in metrics.cpp with its type and help text, so a typo in a
// family name is a crash in tests, not a silently missing series.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace xr::relay {

using MetricLabels = std::vector<std::pair<std::string_view, std::string>>;

class Metrics {
 public:
  // Adds to a counter (or moves a gauge by a delta). Thread-safe.
  void add(std::string_view family, const MetricLabels& labels, double delta = 1);
  // Sets one gauge series.
  void set(std::string_view family, const MetricLabels& labels, double value);
  // Replaces every series of a gauge family (series not given disappear):
  // for values computed at scrape time, such as per-mailbox waiters.
  void replace(std::string_view family, const std::vector<std::pair<MetricLabels, double>>& series);

  // The whole exposition, families in declaration order.
  std::string render() const;

  double value(std::string_view family, const MetricLabels& labels) const;  // for tests; 0 if absent

 private:
  static std::string series_key(std::string_view family, const MetricLabels& labels);
  mutable std::mutex mutex_;
  // family -> rendered label set ("{a=\"b\"}" or "") -> value
  std::map<std::string, std::map<std::string, double>, std::less<>> values_;
};

}  // namespace xr::relay
