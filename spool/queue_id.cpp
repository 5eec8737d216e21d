// Queue ids. The time prefix makes a directory listing sort by age; the random
// part keeps ids unique across restarts and across relays sharing nothing.
#include "spool/queue_id.hpp"

#include <sys/random.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <random>

namespace xr::spool {
namespace {

constexpr std::size_t kIdDigits = 20;

std::uint32_t random32() {
  std::uint32_t v = 0;
  // getrandom never returns short for 4 bytes once the pool is ready; retry on
  // EINTR, and fall back to random_device rather than fail an acceptance.
  for (;;) {
    ssize_t n = ::getrandom(&v, sizeof v, 0);
    if (n == static_cast<ssize_t>(sizeof v)) return v;
    if (n < 0 && errno == EINTR) continue;
    return std::random_device{}();
  }
}

void put_hex(std::string& out, std::uint64_t value, int digits) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (int i = digits - 1; i >= 0; --i) out += kHex[(value >> (4 * i)) & 0xF];
}

bool upper_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); }

}  // namespace

std::string new_queue_id() {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  std::string id;
  id.reserve(kIdDigits);
  put_hex(id, static_cast<std::uint64_t>(ms) & 0xFFFFFFFFFFFFULL, 12);
  put_hex(id, random32(), 8);
  return id;
}

std::string dsn_id_for(std::string_view id) { return std::string(id) + "B"; }

bool valid_queue_id(std::string_view id) {
  if (id.size() == kIdDigits + 1 && id.back() == 'B') id.remove_suffix(1);
  if (id.size() != kIdDigits) return false;
  for (char c : id)
    if (!upper_hex(c)) return false;
  return true;
}

}  // namespace xr::spool
