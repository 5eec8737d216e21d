// RFC 4648 base64 (SASL payloads) and base64url without padding (JWT).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace xr {

std::string base64_encode(std::string_view in);
std::string base64url_encode(std::string_view in);  // no '=' padding
// Strict: rejects characters outside the alphabet, bad padding and whitespace.
std::optional<std::string> base64_decode(std::string_view in);
std::optional<std::string> base64url_decode(std::string_view in);  // padding optional

}  // namespace xr
