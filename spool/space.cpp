// When the spool says no (452 4.3.1): before accepting a message, never by
// dropping one already queued.
#include "spool/store.hpp"

#include <fmt/format.h>

#include <limits>

namespace xr::spool {
namespace {

std::uint64_t add_saturated(std::uint64_t a, std::uint64_t b) {
  return a > std::numeric_limits<std::uint64_t>::max() - b ? std::numeric_limits<std::uint64_t>::max() : a + b;
}

}  // namespace

std::optional<std::string> refusal_reason(std::uint64_t queued_bytes, std::uint64_t incoming,
                                          std::uint64_t free_bytes, std::uint64_t max_size,
                                          std::uint64_t min_free) {
  if (add_saturated(queued_bytes, incoming) > max_size)
    return fmt::format("spool.max_size {} reached ({} queued{})", max_size, queued_bytes,
                       incoming ? fmt::format(", {} more offered", incoming) : std::string());
  if (free_bytes < add_saturated(min_free, incoming))
    return fmt::format("spool.min_free {} not met ({} bytes free on the spool's file system{})", min_free, free_bytes,
                       incoming ? fmt::format(", {} more offered", incoming) : std::string());
  return std::nullopt;
}

}  // namespace xr::spool
