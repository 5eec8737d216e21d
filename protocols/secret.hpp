// Strings that held a secret (passwords, tokens, AUTH lines) are overwritten
// before they are released, so a later heap dump or reuse does not show them.
#pragma once

#include <string>

namespace xr {

// Overwrites and clears; the volatile writes are not optimised away.
inline void wipe_secret(std::string& s) {
  volatile char* p = s.data();
  for (std::size_t i = 0; i < s.size(); ++i) p[i] = 0;
  s.clear();
}

}  // namespace xr
