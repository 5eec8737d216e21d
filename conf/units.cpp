#include "conf/units.hpp"

#include <charconv>
#include <cstdint>

namespace xr::conf {
namespace {

// Leading decimal digits of `text`; the rest is left in `text`.
std::optional<std::uint64_t> take_number(std::string_view& text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end == text.data()) return std::nullopt;
  text.remove_prefix(std::size_t(end - text.data()));
  return value;
}

std::optional<std::uint64_t> scaled(std::uint64_t value, std::uint64_t unit, std::uint64_t max) {
  if (value > max / unit) return std::nullopt;
  return value * unit;
}

}  // namespace

std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
  constexpr std::uint64_t kMax = 10ull * 365 * 24 * 3600;
  auto value = take_number(text);
  if (!value) return std::nullopt;
  std::uint64_t unit = 0;
  if (text.empty() || text == "s") unit = 1;
  else if (text == "m") unit = 60;
  else if (text == "h") unit = 3600;
  else if (text == "d") unit = 24 * 3600;  // spool.max_age is written in days ("5d")
  else return std::nullopt;
  auto s = scaled(*value, unit, kMax);
  if (!s) return std::nullopt;
  return std::chrono::seconds(static_cast<std::int64_t>(*s));
}

std::optional<std::size_t> parse_size(std::string_view text) {
  constexpr std::uint64_t kMax = 1ull << 40;
  auto value = take_number(text);
  if (!value) return std::nullopt;
  std::uint64_t unit = 1;
  if (!text.empty()) {
    switch (text.front()) {
      case 'K': case 'k': unit = 1ull << 10; break;
      case 'M': case 'm': unit = 1ull << 20; break;
      case 'G': case 'g': unit = 1ull << 30; break;
      case 'B': case 'b': unit = 1; break;
      default: return std::nullopt;
    }
    if (unit != 1 || text.size() == 1) text.remove_prefix(1);
    if (text == "iB" || text == "B" || text == "b") text = {};
    if (!text.empty()) return std::nullopt;
  }
  auto s = scaled(*value, unit, kMax);
  if (!s) return std::nullopt;
  return static_cast<std::size_t>(*s);
}

}  // namespace xr::conf
