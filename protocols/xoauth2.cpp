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

}  // namespace xr
