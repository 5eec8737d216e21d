// limits.max_line_length on the IMAP and POP3 listeners (the shell passes it
// in LoginServerOptions): a line of exactly the limit is a command, one byte
// more is refused with the protocol's error, a line that never ends is
// refused without being buffered, and the session goes on. Every script is
// fed whole, split at every byte and byte by byte (login_transcript.hpp).
#include "login_transcript.hpp"
#include "protocols/imap_server.hpp"
#include "protocols/pop3_server.hpp"

using namespace xr;
using namespace xr::test;

namespace {

constexpr std::size_t kMax = 40;

template <class Options>
Options limited() {
  Options o;
  o.greeting = "relay.test ready";
  o.tls_active = true;
  o.max_line_length = kMax;
  return o;
}

std::string after_greeting(const LoginRun& r) { return r.output.substr(r.output.find("\r\n") + 2); }

LoginRun run_imap(const Plan& p) { return login_server_transcript<imap::Server>(limited<imap::ServerOptions>(), p); }
LoginRun run_pop3(const Plan& p) { return login_server_transcript<pop3::Server>(limited<pop3::ServerOptions>(), p); }

}  // namespace

TEST_CASE("imap: a line at the limit is a command, one byte more is * BAD, the session goes on") {
  auto r = run_imap({in(std::string(kMax, 'x') + "\r\n")});
  CHECK(after_greeting(r).find("Line too long") == std::string::npos);  // read as a command
  r = run_imap({in("a NOOP\r\n" + std::string(kMax + 1, 'x') + "\r\nb NOOP\r\n")});
  CHECK(after_greeting(r) == "a OK NOOP completed\r\n* BAD Line too long\r\nb OK NOOP completed\r\n");
  // A line that never ends is refused once it passes the limit, before its LF.
  r = run_imap({in(std::string(10 * kMax, 'y'))});
  CHECK(after_greeting(r) == "* BAD Line too long\r\n");
  CHECK_FALSE(r.closed);
}

TEST_CASE("pop3: a line at the limit is a command, one byte more is -ERR, the session goes on") {
  const std::string at_limit = "NOOP" + std::string(kMax - 4, 'x');
  auto r = run_pop3({in(std::string(kMax + 1, 'x') + "\r\nCAPA\r\n")});
  CHECK(after_greeting(r).starts_with("-ERR Line too long\r\n+OK Capability list follows\r\n"));
  r = run_pop3({in(at_limit + "\r\n")});
  CHECK(after_greeting(r) == "-ERR Unknown command\r\n");  // read as a command, not "too long"
  r = run_pop3({in(std::string(10 * kMax, 'y'))});
  CHECK(after_greeting(r) == "-ERR Line too long\r\n");
}

TEST_CASE("imap and pop3: many overlong lines end the session like other invalid commands") {
  std::string junk;
  for (int i = 0; i < 12; ++i) junk += std::string(kMax + 5, 'z') + "\r\n";
  CHECK(run_imap({in(junk)}).output.ends_with("* BYE Too many invalid commands\r\n"));
  CHECK(run_pop3({in(junk)}).output.ends_with("-ERR Too many invalid commands\r\n"));
}
