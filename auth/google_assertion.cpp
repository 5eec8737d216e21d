#include "auth/google_assertion.hpp"

#include "auth/jwt_rsa.hpp"

#include <boost/json.hpp>

namespace xr::auth {

conf::Secret make_google_assertion(const conf::ServiceAccount& account, const std::string& subject,
                                   const std::string& scope, std::chrono::system_clock::time_point now) {
  auto key = rsa_key_from_pem(account.private_key.reveal(), "the service account's private_key");
  const auto t = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  boost::json::object header{{"alg", "RS256"}, {"typ", "JWT"}, {"kid", account.private_key_id}};
  boost::json::object claims{{"iss", account.client_email}, {"sub", subject}, {"scope", scope},
                             {"aud", account.token_uri},    {"iat", t},       {"exp", t + 3600}};
  return sign_rsa_jwt(key.get(), RsaJwtAlg::rs256, boost::json::serialize(header), boost::json::serialize(claims));
}

}  // namespace xr::auth
