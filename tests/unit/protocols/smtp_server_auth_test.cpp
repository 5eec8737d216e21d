// Server machine: AUTH PLAIN / LOGIN and their refusals.
#include "protocols/base64.hpp"
#include "transcript.hpp"

using namespace xr;
using namespace xr::test;

namespace {

smtp::ServerOptions tls_opts() {
  smtp::ServerOptions o;
  o.hostname = "relay.test";
  o.tls_active = true;
  return o;
}

const std::string kGreeting = "220 relay.test ESMTP xoauth2-relay ready\r\n";

// Runs "EHLO dev" then `lines`; returns output after the EHLO reply.
ServerRun session(const std::string& lines, smtp::ServerOptions o = tls_opts(), const Upstream& up = {}) {
  auto r = run_server_transcript(o, {in("EHLO dev\r\n" + lines)}, up);
  const std::size_t ehlo_end = r.output.find("\r\n250 ");
  if (ehlo_end != std::string::npos) r.output.erase(0, r.output.find("\r\n", ehlo_end + 2) + 2);
  return r;
}

std::string b64(std::string_view s) { return base64_encode(s); }

}  // namespace

TEST_CASE("server AUTH PLAIN: initial response, continuation, authzid") {
  auto r = session("AUTH PLAIN " + b64(std::string("\0alice\0pw-alice", 15)) + "\r\n");
  CHECK(r.output == "235 2.7.0 Authentication successful\r\n");
  CHECK(r.events == "AUTH PLAIN alice\n");

  r = session("auth plain\r\n" + b64(std::string("alice\0alice\0pw-alice", 20)) + "\r\n");
  CHECK(r.output == "334 \r\n235 2.7.0 Authentication successful\r\n");

  // Acting for someone else is not possible through us.
  r = session("AUTH PLAIN " + b64(std::string("bob\0alice\0pw-alice", 18)) + "\r\n");
  CHECK(r.output == "535 5.7.8 Authentication credentials invalid\r\n");
  CHECK(r.events.empty());

  // "=" is an empty initial response: not a valid PLAIN message.
  r = session("AUTH PLAIN =\r\n");
  CHECK(r.output == "535 5.7.8 Authentication credentials invalid\r\n");

  r = session("AUTH PLAIN " + b64(std::string("\0alice\0wrong", 12)) + "\r\n");
  CHECK(r.output == "535 5.7.8 Authentication credentials invalid\r\n");
  CHECK(r.events == "AUTH PLAIN alice\n");
}

TEST_CASE("server AUTH LOGIN: both forms; the password reaches the shell intact") {
  auto r = session("AUTH LOGIN\r\n" + b64("alice") + "\r\n" + b64("pw-alice") + "\r\n");
  CHECK(r.output == "334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 2.7.0 Authentication successful\r\n");
  CHECK(r.events == "AUTH LOGIN alice\n");

  r = session("AUTH LOGIN " + b64("alice") + "\r\n" + b64("pw-alice") + "\r\n");
  CHECK(r.output == "334 UGFzc3dvcmQ6\r\n235 2.7.0 Authentication successful\r\n");

  // A password containing NUL and spaces passes through LOGIN unchanged.
  Upstream up;
  up.auth = [](const std::string& user, const std::string& pw) {
    return user == "bob" && pw == std::string("a b\0c", 5) ? smtp::AuthOutcome::ok
                                                           : smtp::AuthOutcome::bad_credentials;
  };
  r = session("AUTH LOGIN " + b64("bob") + "\r\n" + b64(std::string("a b\0c", 5)) + "\r\n", tls_opts(), up);
  CHECK(r.output == "334 UGFzc3dvcmQ6\r\n235 2.7.0 Authentication successful\r\n");
}

TEST_CASE("server AUTH: cancel, bad base64, unknown mechanism, syntax") {
  auto r = session("AUTH LOGIN\r\n*\r\nAUTH PLAIN\r\n*\r\nAUTH PLAIN !!!!\r\nAUTH LOGIN\r\nnot base64\r\n"
                   "AUTH CRAM-MD5\r\nAUTH\r\nAUTH PLAIN a b\r\n");
  CHECK(r.output ==
        "334 VXNlcm5hbWU6\r\n501 5.0.0 Authentication cancelled\r\n"
        "334 \r\n501 5.0.0 Authentication cancelled\r\n"
        "501 5.5.2 Invalid base64 data\r\n"
        "334 VXNlcm5hbWU6\r\n501 5.5.2 Invalid base64 data\r\n"
        "504 5.5.4 Unrecognized authentication type\r\n"
        "501 5.5.4 Syntax: AUTH mechanism [initial-response]\r\n"
        "501 5.5.4 Syntax: AUTH mechanism [initial-response]\r\n");
  CHECK(r.events.empty());
}

TEST_CASE("server AUTH: sequencing and encryption refusals") {
  auto r = run_server_transcript(tls_opts(), {in("AUTH PLAIN =\r\n")});
  CHECK(r.output == kGreeting + "503 5.5.1 Send EHLO first\r\n");

  const std::string alice = "AUTH PLAIN " + b64(std::string("\0alice\0pw-alice", 15)) + "\r\n";
  r = session(alice + alice);
  CHECK(r.output == "235 2.7.0 Authentication successful\r\n503 5.5.1 Already authenticated\r\n");

  auto no_auth = tls_opts();
  no_auth.auth_required = false;
  r = session("MAIL FROM:<a@b>\r\n" + alice, no_auth);
  CHECK(r.output == "250 2.1.0 Sender OK\r\n503 5.5.1 Not permitted during a mail transaction\r\n");

  smtp::ServerOptions plain;
  plain.hostname = "relay.test";
  plain.starttls_offered = true;
  r = session(alice, plain);
  CHECK(r.output == "538 5.7.11 Encryption required for requested authentication mechanism\r\n");
  plain.allow_plaintext_auth = true;
  r = session(alice, plain);
  CHECK(r.output == "235 2.7.0 Authentication successful\r\n");

  // Without a login, MAIL is refused when auth is required.
  r = session("MAIL FROM:<a@b>\r\n");
  CHECK(r.output == "530 5.7.0 Authentication required\r\n");
}

TEST_CASE("server AUTH: outcomes map to replies; the third failure closes") {
  Upstream up;
  int calls = 0;
  up.auth = [&calls](const std::string&, const std::string&) {
    switch (calls++ % 3) {  // three logins per run: every run sees the same sequence
      case 0: return smtp::AuthOutcome::upstream_refused;
      case 1: return smtp::AuthOutcome::temporary;
      default: return smtp::AuthOutcome::bad_credentials;
    }
  };
  const std::string alice = "AUTH PLAIN " + b64(std::string("\0alice\0pw-alice", 15)) + "\r\n";
  auto r = session(alice + alice + alice + "NOOP\r\n", tls_opts(), up);
  CHECK(r.output ==
        "535 5.7.3 Authentication unsuccessful\r\n"
        "454 4.7.0 Temporary authentication failure, try again later\r\n"
        "535 5.7.8 Authentication credentials invalid\r\n"
        "421 4.7.0 Too many authentication failures\r\n");
  CHECK(r.closed);

  // Local refusals count too.
  r = session("AUTH PLAIN =\r\nAUTH PLAIN =\r\nAUTH PLAIN =\r\n");
  CHECK(r.output.ends_with("535 5.7.8 Authentication credentials invalid\r\n"
                           "421 4.7.0 Too many authentication failures\r\n"));
  CHECK(r.events == "CLOSE\n");
}

TEST_CASE("server AUTH: the password is wiped after complete_auth") {
  smtp::Server m(tls_opts());
  m.start();
  m.feed("EHLO d\r\nAUTH LOGIN " + b64("alice") + "\r\n" + b64("pw-alice") + "\r\n");
  REQUIRE(m.next() == smtp::EventKind::authenticate);
  CHECK((m.auth_password() == "pw-alice"));
  CHECK(m.auth_mechanism() == "LOGIN");
  m.complete_auth(smtp::AuthOutcome::ok);
  CHECK(m.auth_password().empty());
  CHECK(m.authenticated());
  CHECK(m.auth_user() == "alice");
}
