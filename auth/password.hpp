// Local password hashes through libxcrypt's crypt(3). Verification costs
// ~25 ms of CPU for yescrypt: callers run it off the I/O threads.
#pragma once

#include <string>
#include <string_view>

namespace xr::auth {

// True when `password` matches `hash` (any method libxcrypt enables).
// Constant-time comparison; never throws.
bool verify_password(std::string_view password, const std::string& hash);

// A new yescrypt ("$y$") hash with a fresh random salt and libxcrypt's
// default cost. Throws std::runtime_error when libxcrypt fails.
std::string hash_password(std::string_view password);

// True when libxcrypt recognises the hash's method and its setting is usable
// (crypt_checksalt); `why` gets a human explanation otherwise.
bool hash_is_valid(const std::string& hash, std::string* why = nullptr);

}  // namespace xr::auth
