#include "login_transcript.hpp"

namespace xr::test {

LoginAnswer accept_alice() {
  return [](const std::string& user, const std::string& password) -> std::pair<LoginOutcome, std::string> {
    if (user == "alice" && password == "pw-alice") return {LoginOutcome::ok, "IMAP4rev1 IDLE"};
    return {LoginOutcome::bad_credentials, {}};
  };
}

}  // namespace xr::test
