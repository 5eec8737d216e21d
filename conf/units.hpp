// Durations and sizes as admins write them in YAML.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>

namespace xr::conf {

// "30" (seconds), "30s", "5m", "1h", "5d"; non-negative, at most 10 years.
std::optional<std::chrono::seconds> parse_duration(std::string_view text);

// "1048576" (bytes), "512K", "35M", "1G" (binary units, optional trailing
// "B"/"iB": "35MB", "35MiB"); at most 1T.
std::optional<std::size_t> parse_size(std::string_view text);

}  // namespace xr::conf
