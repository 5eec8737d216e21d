// Strings that held a secret (passwords, tokens, AUTH lines) are overwritten
// before they are released, so a later heap dump or reuse does not show them.
#pragma once

#include <string.h>  // explicit_bzero (glibc): protocols/ depends on nothing beyond libc

#include <algorithm>
#include <string>
#include <string_view>

namespace xr {

// Overwrites the whole buffer, not just size(): bytes past the end may still
// hold a longer value the string had before (or a short one moved out of its
// inline buffer). resize() within capacity never reallocates, so this touches
// exactly the storage the string owns. explicit_bzero is not optimised away
// (it is what OPENSSL_cleanse does, without making protocols/ need OpenSSL).
inline void wipe_secret(std::string& s) {
  s.resize(s.capacity());
  explicit_bzero(s.data(), s.size());
  s.clear();
}

// wipe_secret, and the heap buffer goes too when larger than
// `keep_capacity`: for a string that held a secret once (a token, an AUTH
// line) and then stays in a long-lived object, where keeping the capacity
// would cost every idle session a few KiB.
inline void wipe_and_release(std::string& s, std::size_t keep_capacity = 0) {
  wipe_secret(s);
  if (s.capacity() > keep_capacity) s.shrink_to_fit();
}

// s += bytes, without leaving a copy of what s held in freed memory when it
// has to grow: the new buffer is made first, the old one wiped.
inline void append_wiping(std::string& s, std::string_view bytes) {
  if (s.size() + bytes.size() <= s.capacity()) {
    s.append(bytes);
    return;
  }
  std::string bigger;
  bigger.reserve(std::max(2 * s.capacity(), s.size() + bytes.size()));
  bigger.append(s);
  bigger.append(bytes);
  wipe_secret(s);
  s.swap(bigger);
}

// s.erase(0, n), and the bytes past the new end that still held the old
// tail are overwritten.
inline void erase_front_wiping(std::string& s, std::size_t n) {
  const std::size_t old_size = s.size();
  s.erase(0, n);
  const std::size_t keep = s.size();
  s.resize(old_size);
  explicit_bzero(s.data() + keep, old_size - keep);
  s.resize(keep);
}

// Gives back the spare capacity of a string that grew large (wiping the old
// buffer, as it may have held secrets); small ones are left alone.
inline void shrink_wiping(std::string& s, std::size_t keep_capacity = 4096) {
  if (s.capacity() <= keep_capacity) return;
  std::string smaller(s);  // a copy's capacity fits its size
  wipe_secret(s);
  s.swap(smaller);
}

}  // namespace xr
