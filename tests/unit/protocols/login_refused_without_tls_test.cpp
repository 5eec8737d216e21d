// IMAP and POP3 machines count logins refused because TLS was not active
// (a device mistake the shell logs with the fix), the same however the
// input is split.
#include "login_transcript.hpp"
#include "protocols/imap_server.hpp"
#include "protocols/pop3_server.hpp"

using namespace xr;
using namespace xr::test;

namespace {

template <class Server, class Options>
std::size_t refused_without_tls(const Options& o, const Plan& script) {
  const auto r = all_plans_agree(script, [&](const Plan& plan) {
    Server m(o);
    auto run = run_login_server(m, plan, accept_alice());
    run.events += "REFUSED_WITHOUT_TLS " + std::to_string(m.logins_refused_without_tls()) + "\n";
    return run;
  });
  const auto at = r.events.find("REFUSED_WITHOUT_TLS ");
  return std::stoul(r.events.substr(at + 20));
}

template <class Options>
Options starttls_listener() {
  Options o;
  o.starttls_offered = true;
  return o;
}

}  // namespace

TEST_CASE("imap: LOGIN and AUTHENTICATE before STARTTLS are counted") {
  const auto o = starttls_listener<imap::ServerOptions>();
  CHECK(refused_without_tls<imap::Server>(o, {in("a1 LOGIN alice pw-alice\r\n")}) == 1);
  CHECK(refused_without_tls<imap::Server>(o, {in("a1 LOGIN alice x\r\na2 AUTHENTICATE PLAIN AGFsaWNlAHB3\r\n")}) == 2);
  CHECK(refused_without_tls<imap::Server>(o, {in("a1 CAPABILITY\r\n")}) == 0);
  // After STARTTLS, or with allow_plaintext_auth, a login is no mistake.
  CHECK(refused_without_tls<imap::Server>(o, {in("a1 STARTTLS\r\n"), in("a2 LOGIN alice pw-alice\r\n")}) == 0);
  auto plain = o;
  plain.allow_plaintext_auth = true;
  CHECK(refused_without_tls<imap::Server>(plain, {in("a1 LOGIN alice pw-alice\r\n")}) == 0);
}

TEST_CASE("pop3: USER, PASS and AUTH PLAIN before STLS are counted") {
  const auto o = starttls_listener<pop3::ServerOptions>();
  CHECK(refused_without_tls<pop3::Server>(o, {in("USER alice\r\nPASS pw-alice\r\n")}) == 2);
  CHECK(refused_without_tls<pop3::Server>(o, {in("AUTH PLAIN AGFsaWNlAHB3\r\n")}) == 1);
  CHECK(refused_without_tls<pop3::Server>(o, {in("CAPA\r\n")}) == 0);
  CHECK(refused_without_tls<pop3::Server>(o, {in("STLS\r\n"), in("USER alice\r\nPASS pw-alice\r\n")}) == 0);
}
