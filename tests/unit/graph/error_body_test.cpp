// Graph's error body, and flattening its text for logs and replies.
#include "graph/error_body.hpp"

#include <doctest/doctest.h>

using namespace xr::graph;

TEST_CASE("error body: code and message from Graph's JSON") {
  auto e = parse_error_body(R"({"error":{"code":"ErrorSendAsDenied","message":"The user account which was used to )"
                            R"(submit this request does not have the right to send mail on behalf of the specified )"
                            R"(sending account.","innerError":{"request-id":"x"}}})");
  CHECK(e.code == "ErrorSendAsDenied");
  CHECK(e.message.rfind("The user account", 0) == 0);
}

TEST_CASE("error body: anything else gives empty fields") {
  for (const char* body : {"", "<html>Bad Gateway</html>", "[]", R"({"error":"x"})", R"({"error":{"code":5}})", "{"}) {
    auto e = parse_error_body(body);
    CHECK(e.code.empty());
    CHECK(e.message.empty());
  }
}

TEST_CASE("error body: message flattened to one capped line") {
  auto e = parse_error_body(R"({"error":{"code":"X","message":"line one\r\n250 fake\ttab"}})");
  CHECK(e.message == "line one 250 fake tab");
  CHECK(one_line(std::string(1000, 'a'), 300).size() == 303);
  // "é" is two bytes: the cut never splits it.
  std::string accents;
  for (int i = 0; i < 200; ++i) accents += "\xC3\xA9";
  std::string cut = one_line(accents, 301);
  CHECK(cut.size() == 303);
  CHECK(cut.substr(298, 2) == "\xC3\xA9");
}
