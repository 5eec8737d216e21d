// Server machine: shutdown with a reason of the shell's (a reload revoked the
// session's access): the 421 line it names, after the message in progress.
#include "protocols/smtp_server.hpp"

#include <doctest/doctest.h>

using namespace xr;

namespace {

constexpr std::string_view kRevoked = "421 4.7.0 Configuration changed, log in again";

smtp::Server started() {
  smtp::ServerOptions o;
  o.hostname = "relay.test";
  o.tls_active = true;
  o.auth_required = false;
  smtp::Server m(o);
  m.start();
  m.feed("EHLO dev\r\n");
  REQUIRE(m.next() == smtp::EventKind::need_input);
  m.output().clear();
  return m;
}

}  // namespace

TEST_CASE("shutdown(reply_line) between commands: that line, then close; the first reason wins") {
  auto m = started();
  m.shutdown(kRevoked);
  m.shutdown();  // a later relay shutdown does not change what the device hears
  m.feed("NOOP\r\n");
  CHECK(m.next() == smtp::EventKind::close);
  CHECK(m.output() == std::string(kRevoked) + "\r\n");
}

TEST_CASE("shutdown(reply_line) during DATA: the message is finished first") {
  auto m = started();
  m.feed("MAIL FROM:<a@b>\r\n");
  REQUIRE(m.next() == smtp::EventKind::upstream_command);
  m.complete_command(smtp::make_reply(250, "2.1.0 OK"));
  m.feed("RCPT TO:<c@d>\r\n");
  REQUIRE(m.next() == smtp::EventKind::upstream_command);
  m.complete_command(smtp::make_reply(250, "2.1.5 OK"));
  m.feed("DATA\r\n");
  REQUIRE(m.next() == smtp::EventKind::upstream_command);
  m.complete_command(smtp::make_reply(354, "go ahead"));
  m.feed("body\r\n");
  m.shutdown(kRevoked);
  REQUIRE(m.next() == smtp::EventKind::message_data);
  REQUIRE(m.next() == smtp::EventKind::need_input);
  m.output().clear();
  m.feed(".\r\nNOOP\r\n");
  REQUIRE(m.next() == smtp::EventKind::message_end);
  m.complete_command(smtp::make_reply(250, "2.6.0 Queued"));
  CHECK(m.next() == smtp::EventKind::close);
  CHECK(m.output() == "250 2.6.0 Queued\r\n" + std::string(kRevoked) + "\r\n");
}

TEST_CASE("plain shutdown() keeps its 421 4.3.2") {
  auto m = started();
  m.shutdown();
  m.shutdown(kRevoked);
  CHECK(m.next() == smtp::EventKind::close);
  CHECK(m.output() == "421 4.3.2 Service shutting down\r\n");
}
