// The argument of MAIL FROM: / RCPT TO: (RFC 5321 4.1.2): "<path>" and the
// ESMTP parameters after it. Syntax only; what the parameters mean is the
// server's business.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xr::smtp {

struct PathArgument {
  std::string address;              // without <>; "" for "<>"; source route removed
  std::vector<std::string> params;  // "KEY" or "KEY=VALUE", as sent
};

// `text` is what follows "FROM:" or "TO:". Leading spaces are tolerated
// (devices send "MAIL FROM: <a@b>"). nullopt on bad syntax.
std::optional<PathArgument> parse_path_argument(std::string_view text);

bool is_ascii(std::string_view s);

// "MAIL FROM:<address>" and the parameters, if any: the line sent upstream.
std::string mail_from_line(std::string_view address, std::string_view params);

}  // namespace xr::smtp
