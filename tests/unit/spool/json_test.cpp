#include "spool/delivery_state.hpp"
#include "spool/envelope.hpp"
#include "tests/unit/spool/spool_test_support.hpp"

#include <doctest/doctest.h>

using namespace xr::spool;

TEST_CASE("an envelope survives encode/decode, on one line") {
  Envelope e = test::envelope("0123456789ABCDEF0123", 2);
  e.rcpts[1].params = "NOTIFY=FAILURE ORCPT=rfc822;x@y";
  e.mail_params = "BODY=8BITMIME";
  e.mail_from = "";
  e.user = "user with \"quotes\"\nand a newline";
  e.is_dsn = true;
  std::string text = encode_envelope(e);
  CHECK(text.find('\n') == std::string::npos);
  std::string error;
  auto back = decode_envelope(text, &error);
  REQUIRE_MESSAGE(back, error);
  CHECK(back->id == e.id);
  CHECK(back->received_ms == e.received_ms);
  CHECK(back->session == e.session);
  CHECK(back->client == e.client);
  CHECK(back->user == e.user);
  CHECK(back->tenant == e.tenant);
  CHECK(back->mailbox == e.mailbox);
  CHECK(back->mail_from == "");
  CHECK(back->original_from == e.original_from);
  CHECK(back->mail_params == e.mail_params);
  REQUIRE(back->rcpts.size() == 2);
  CHECK(back->rcpts[1].address == e.rcpts[1].address);
  CHECK(back->rcpts[1].params == e.rcpts[1].params);
  CHECK(back->is_dsn);
}

TEST_CASE("garbage is not an envelope") {
  std::string good = encode_envelope(test::envelope("0123456789ABCDEF0123"));
  auto refuses = [](std::string_view text, const char* why) {
    std::string error;
    CHECK_FALSE(decode_envelope(text, &error));
    CHECK_MESSAGE(error.find(why) != std::string::npos, error);
  };
  refuses("", "not JSON");
  refuses("{\"v\":1,", "not JSON");
  refuses("[1,2]", "not a JSON object");
  refuses(good.substr(0, good.size() / 2), "not JSON");
  auto edit = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    auto at = s.find(from);
    REQUIRE(at != std::string::npos);
    return s.replace(at, from.size(), to);
  };
  refuses(edit("\"id\":\"0123456789ABCDEF0123\"", "\"id\":\"../x\""), "invalid id");
  refuses(edit("\"tenant\":\"contoso\"", "\"tenant\":7"), "tenant");
  refuses(edit("\"v\":1", "\"v\":2"), "version");
  refuses(edit("\"rcpts\":[{\"address\":\"user0@contoso.com\",\"params\":\"\"}]", "\"rcpts\":[]"), "no recipients");
  refuses(edit("\"received\":1767225600000", "\"received\":\"yesterday\""), "received");
  refuses(edit("\"mailbox\":\"scanner@contoso.com\",", ""), "missing field \"mailbox\"");
  // Unknown fields are a later version's business.
  CHECK(decode_envelope(edit("\"v\":1", "\"v\":1,\"future\":{\"x\":1}")));
}

TEST_CASE("a delivery state survives encode/decode") {
  DeliveryState s;
  s.attempts = 7;
  s.next_attempt_ms = 1767225660000;
  s.last_attempt_ms = 1767225600000;
  s.last_error = "451 4.4.2 timeout";
  s.held = true;
  s.final = true;
  s.expired = true;
  s.set_rcpt(1, 3, RcptStatus::failed, "550 5.1.1 User unknown");
  REQUIRE(s.rcpts.size() == 3);
  CHECK(s.rcpt(0) == RcptStatus::pending);
  CHECK(s.rcpt(1) == RcptStatus::failed);
  CHECK(s.rcpt(5) == RcptStatus::pending);
  std::string error;
  auto back = decode_state(encode_state(s), &error);
  REQUIRE_MESSAGE(back, error);
  CHECK(back->attempts == 7);
  CHECK(back->next_attempt_ms == s.next_attempt_ms);
  CHECK(back->last_attempt_ms == s.last_attempt_ms);
  CHECK(back->last_error == s.last_error);
  CHECK(back->held);
  CHECK(back->final);
  CHECK(back->expired);
  REQUIRE(back->rcpts.size() == 3);
  CHECK(back->rcpts[1].status == RcptStatus::failed);
  CHECK(back->rcpts[1].reply == "550 5.1.1 User unknown");
  CHECK(back->rcpts[2].status == RcptStatus::pending);
}

TEST_CASE("garbage is not a delivery state") {
  std::string error;
  CHECK_FALSE(decode_state("", &error));
  CHECK_FALSE(decode_state("null", &error));
  CHECK_FALSE(decode_state("{\"v\":1,\"attempts\":-1}", &error));
  CHECK(error.find("attempts") != std::string::npos);
  CHECK_FALSE(decode_state("{\"v\":1,\"held\":\"yes\"}", &error));
  CHECK_FALSE(decode_state("{\"v\":1,\"rcpts\":[{\"status\":\"lost\"}]}", &error));
  CHECK(error.find("lost") != std::string::npos);
  CHECK_FALSE(decode_state("{\"v\":1,\"rcpts\":{}}", &error));
  CHECK_FALSE(decode_state("{\"attempts\":1}", &error));  // no version
  auto minimal = decode_state("{\"v\":1}", &error);
  REQUIRE(minimal);
  CHECK(minimal->attempts == 0);
  CHECK_FALSE(minimal->held);
}
