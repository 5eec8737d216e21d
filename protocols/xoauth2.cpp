#include "protocols/xoauth2.hpp"

#include "protocols/base64.hpp"
#include "protocols/secret.hpp"

namespace xr {

std::string xoauth2_initial_response(std::string_view mailbox, std::string_view token) {
  std::string raw;
  raw.reserve(mailbox.size() + token.size() + 24);
  raw += "user=";
  raw += mailbox;
  raw += "\x01" "auth=Bearer ";
  raw += token;
  raw += "\x01\x01";
  std::string b64 = base64_encode(raw);
  wipe_secret(raw);
  return b64;
}

std::string decode_error_challenge(std::string_view base64) {
  auto decoded = base64_decode(base64);
  if (!decoded) return "(not printable)";
  for (unsigned char c : *decoded)
    if (c < 0x20 || c == 0x7f) return "(not printable)";
  return *decoded;
}

}  // namespace xr
