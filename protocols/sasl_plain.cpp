#include "protocols/sasl_plain.hpp"

#include <algorithm>

namespace xr {

std::optional<PlainCredentials> parse_sasl_plain(std::string& payload) {
  const std::size_t first = payload.find('\0');
  const std::size_t second = first == std::string::npos ? first : payload.find('\0', first + 1);
  std::optional<PlainCredentials> out;
  if (second != std::string::npos && payload.find('\0', second + 1) == std::string::npos) {
    std::string_view view = payload;
    std::string_view authzid = view.substr(0, first);
    std::string_view user = view.substr(first + 1, second - first - 1);
    if (!user.empty() && (authzid.empty() || authzid == user))
      out = PlainCredentials{std::string(user), std::string(view.substr(second + 1))};
  }
  wipe_secret(payload);
  return out;
}

}  // namespace xr
