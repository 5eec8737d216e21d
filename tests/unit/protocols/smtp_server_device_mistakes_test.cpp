// What the SMTP machine tells the shell about device mistakes it otherwise
// only answers on the wire: AUTH before STARTTLS (538 5.7.11), and an EHLO
// that could offer no AUTH. Driven with the input split at every byte.
#include "protocols/smtp_server.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace xr;

namespace {

struct Seen {
  std::size_t refused_without_tls = 0;
  bool not_offered = false;
  std::string output;
};

smtp::ServerOptions options(bool starttls, bool plaintext_auth, bool auth_required = true) {
  smtp::ServerOptions o;
  o.hostname = "relay.test";
  o.starttls_offered = starttls;
  o.allow_plaintext_auth = plaintext_auth;
  o.auth_required = auth_required;
  return o;
}

// Feeds `pieces`, answering every event as a shell would (logins succeed,
// STARTTLS handshakes succeed, upstream says 250), until more input is
// needed or the session closes.
Seen drive(const smtp::ServerOptions& o, const std::vector<std::string_view>& pieces) {
  smtp::Server m(o);
  m.start();
  Seen s;
  auto pump = [&] {
    for (;;) {
      switch (m.next()) {
        case smtp::EventKind::need_input:
        case smtp::EventKind::close: return;
        case smtp::EventKind::start_tls: m.tls_started(); break;
        case smtp::EventKind::authenticate: m.complete_auth(smtp::AuthOutcome::ok); break;
        case smtp::EventKind::upstream_command:
        case smtp::EventKind::message_end: m.complete_command(smtp::make_reply(250, "2.0.0 OK")); break;
        default: break;
      }
    }
  };
  pump();
  for (auto p : pieces) {
    m.feed(p);
    pump();
  }
  s.refused_without_tls = m.auth_refused_without_tls();
  s.not_offered = m.auth_not_offered();
  s.output = m.output();
  return s;
}

Seen observe(const smtp::ServerOptions& o, std::string_view script) {
  const Seen whole = drive(o, {script});
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < script.size(); ++i) bytes.push_back(script.substr(i, 1));
  auto same = [&](const Seen& s) {
    CHECK(s.refused_without_tls == whole.refused_without_tls);
    CHECK(s.not_offered == whole.not_offered);
  };
  same(drive(o, bytes));
  for (std::size_t cut = 1; cut < script.size(); ++cut) {
    CAPTURE(cut);
    same(drive(o, {script.substr(0, cut), script.substr(cut)}));
  }
  return whole;
}

}  // namespace

TEST_CASE("device mistakes: AUTH before STARTTLS is counted with its 538") {
  const auto s = observe(options(true, false), "EHLO mfp\r\nAUTH PLAIN AGFsaWNlAHB3\r\nAUTH LOGIN\r\nQUIT\r\n");
  CHECK(s.refused_without_tls == 2);
  CHECK(s.output.find("538 5.7.11") != std::string::npos);
  CHECK(s.not_offered);
  // With allow_plaintext_auth, or after STARTTLS, AUTH is fine.
  CHECK(observe(options(true, true), "EHLO mfp\r\nAUTH PLAIN AGFsaWNlAHB3\r\n").refused_without_tls == 0);
  const auto after = observe(options(true, false), "EHLO mfp\r\nSTARTTLS\r\nEHLO mfp\r\nAUTH PLAIN AGFsaWNlAHB3\r\n");
  CHECK(after.refused_without_tls == 0);
  CHECK_FALSE(after.not_offered);
  // Other refusals of AUTH are not this mistake.
  CHECK(observe(options(true, false), "AUTH PLAIN AGFsaWNlAHB3\r\n").refused_without_tls == 0);  // no EHLO
}

TEST_CASE("device mistakes: an EHLO that offered no AUTH, until STARTTLS or a login") {
  // A plain listener without allow_plaintext_auth: AUTH is never offered.
  auto s = observe(options(false, false), "EHLO mfp\r\n");
  CHECK(s.not_offered);
  CHECK(s.output.find("AUTH") == std::string::npos);
  // A STARTTLS listener before the upgrade: the same.
  CHECK(observe(options(true, false), "EHLO mfp\r\nMAIL FROM:<a@b>\r\n").not_offered);
  // After STARTTLS the EHLO offers AUTH.
  CHECK_FALSE(observe(options(true, false), "EHLO mfp\r\nSTARTTLS\r\nEHLO mfp\r\n").not_offered);
  // Offered on the plain listener with allow_plaintext_auth.
  s = observe(options(false, true), "EHLO mfp\r\n");
  CHECK_FALSE(s.not_offered);
  CHECK(s.output.find("AUTH PLAIN LOGIN") != std::string::npos);
  // A no_auth source need not log in; HELO offers nothing to anyone.
  CHECK_FALSE(observe(options(false, false, false), "EHLO mfp\r\n").not_offered);
  CHECK_FALSE(observe(options(false, false), "HELO mfp\r\n").not_offered);
  CHECK_FALSE(observe(options(false, false), "").not_offered);
}
