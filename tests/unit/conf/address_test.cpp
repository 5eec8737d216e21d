#include "conf/listen_address.hpp"
#include "conf/mail_address.hpp"

#include <doctest/doctest.h>

using xr::conf::is_mailbox;
using xr::conf::is_sender_pattern;
using xr::conf::parse_listen_address;

TEST_CASE("listen addresses: IPv4, bracketed IPv6, canonical spelling") {
  std::string why;
  auto a = parse_listen_address("0.0.0.0:587", &why);
  REQUIRE(a);
  CHECK(a->address == "0.0.0.0");
  CHECK(a->port == 587);
  auto b = parse_listen_address("[::]:587", &why);
  REQUIRE(b);
  CHECK(b->address == "::");
  auto c = parse_listen_address("[0:0::0]:2525", &why);
  REQUIRE(c);
  CHECK(c->address == "::");
  CHECK(c->port == 2525);
  auto d = parse_listen_address("127.0.0.1:65535", &why);
  REQUIRE(d);
  CHECK(d->port == 65535);
}

TEST_CASE("listen addresses: every mistake explains the form") {
  struct Case {
    const char* text;
    const char* says;
  };
  for (auto [text, says] : {Case{"587", "missing \":PORT\""}, Case{":587", "missing the address"},
                            Case{"0.0.0.0:0", "1 to 65535"}, Case{"0.0.0.0:65536", "1 to 65535"},
                            Case{"0.0.0.0:", "1 to 65535"}, Case{"0.0.0.0:58x", "1 to 65535"},
                            Case{"::1:587", "must be in brackets"}, Case{"[::1]587", "missing \":PORT\""},
                            Case{"[::1:587", "missing ']'"}, Case{"[1.2.3.4]:25", "only for IPv6"},
                            Case{"localhost:25", "not an IP address"}}) {
    INFO(text);
    std::string why;
    CHECK_FALSE(parse_listen_address(text, &why).has_value());
    CHECK(why.find(says) != std::string::npos);
    CHECK(why.find("\"0.0.0.0:587\"") != std::string::npos);
  }
}

TEST_CASE("mailboxes need exactly one '@' and both sides") {
  CHECK(is_mailbox("scanner@contoso.com"));
  CHECK(is_mailbox("first.last+tag@sub.contoso.co.uk"));
  std::string why;
  CHECK_FALSE(is_mailbox("scanner.contoso.com", &why));
  CHECK(why.find("exactly one '@'") != std::string::npos);
  CHECK_FALSE(is_mailbox("a@b@contoso.com", &why));
  CHECK_FALSE(is_mailbox("@contoso.com", &why));
  CHECK(why.find("nothing before") != std::string::npos);
  CHECK_FALSE(is_mailbox("scanner@", &why));
  CHECK(why.find("nothing after") != std::string::npos);
  CHECK_FALSE(is_mailbox("scanner@contoso..com", &why));
  CHECK_FALSE(is_mailbox("<scanner@contoso.com>", &why));
  CHECK_FALSE(is_mailbox("scan ner@contoso.com", &why));
  CHECK_FALSE(is_mailbox("", &why));
  CHECK_FALSE(is_mailbox("*@contoso.com"));
}

TEST_CASE("sender patterns: a mailbox or *@domain") {
  CHECK(is_sender_pattern("scanner@contoso.com"));
  CHECK(is_sender_pattern("*@contoso.com"));
  std::string why;
  CHECK_FALSE(is_sender_pattern("*@", &why));
  CHECK_FALSE(is_sender_pattern("*", &why));
  CHECK_FALSE(is_sender_pattern("scan*@contoso.com", &why));
  CHECK(why.find("*@contoso.com") != std::string::npos);
  CHECK_FALSE(is_sender_pattern("*@*.contoso.com", &why));
  CHECK_FALSE(is_sender_pattern("*@a@contoso.com", &why));
}
