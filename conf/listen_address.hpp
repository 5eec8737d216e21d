// `listen:` values: an IP literal and a port, "0.0.0.0:587" or "[::]:587".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace xr::conf {

struct ListenAddress {
  std::string address;  // without brackets: "0.0.0.0", "::"
  std::uint16_t port = 0;
};

// On failure `error` says what to write instead.
std::optional<ListenAddress> parse_listen_address(std::string_view text, std::string* error);

}  // namespace xr::conf
