#include "auth/token_claims.hpp"

#include "protocols/base64.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace xr::auth {

bool TokenClaims::has_role(std::string_view role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

std::optional<TokenClaims> decode_token_claims(std::string_view jwt) {
  auto a = jwt.find('.');
  auto b = a == std::string_view::npos ? a : jwt.find('.', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  auto payload = base64url_decode(jwt.substr(a + 1, b - a - 1));
  if (!payload) return std::nullopt;
  boost::system::error_code ec;
  auto doc = boost::json::parse(*payload, ec);
  if (ec || !doc.is_object()) return std::nullopt;
  const auto& o = doc.as_object();
  TokenClaims c;
  auto str = [&](const char* key) -> std::string {
    auto it = o.find(key);
    return it != o.end() && it->value().is_string() ? std::string(it->value().as_string()) : std::string();
  };
  c.tid = str("tid");
  c.appid = str("appid");
  if (c.appid.empty()) c.appid = str("azp");  // v2.0 tokens name the client azp
  c.oid = str("oid");
  if (auto it = o.find("roles"); it != o.end() && it->value().is_array())
    for (const auto& r : it->value().as_array())
      if (r.is_string()) c.roles.emplace_back(r.as_string());
  if (auto it = o.find("exp"); it != o.end() && it->value().is_number()) {
    auto secs = it->value().to_number<double>();
    c.exp = std::chrono::system_clock::time_point(std::chrono::seconds(static_cast<long long>(secs)));
  }
  return c;
}

const char* required_role(conf::Protocol p) {
  switch (p) {
    case conf::Protocol::smtp: return "SMTP.SendAsApp";
    case conf::Protocol::imap: return "IMAP.AccessAsApp";
    case conf::Protocol::pop3: return "POP.AccessAsApp";
  }
  return "";
}

}  // namespace xr::auth
