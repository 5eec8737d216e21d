// SASL PLAIN (RFC 4616) as devices send it over SMTP, IMAP and POP3:
// authzid NUL authcid NUL passwd. The relay cannot act for another identity,
// so an authzid is accepted only when empty or equal to the login itself.
#pragma once

#include "protocols/secret.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace xr {

struct PlainCredentials {
  std::string user;
  std::string password;  // secret
};

// From the decoded payload (wiped afterwards). nullopt when malformed, the
// user is empty, or the authzid names someone else.
std::optional<PlainCredentials> parse_sasl_plain(std::string& payload);

}  // namespace xr
