#include "protocols/http_request.hpp"

#include <doctest/doctest.h>

using namespace xr::protocols;

TEST_CASE("a request head is complete at the blank line; the query string is dropped") {
  HttpRequestHead h;
  const std::string req = "GET /metrics?x=1 HTTP/1.1\r\nHost: 127.0.0.1:9187\r\nAccept: */*\r\n\r\n";
  for (std::size_t n = 0; n < req.size(); ++n) {
    CAPTURE(n);
    CHECK(parse_http_request_head(std::string_view(req).substr(0, n), h) == HttpParse::incomplete);
  }
  REQUIRE(parse_http_request_head(req, h) == HttpParse::ok);
  CHECK(h.method == "GET");
  CHECK(h.path == "/metrics");
  HttpRequestHead lf;
  REQUIRE(parse_http_request_head("HEAD /healthz HTTP/1.0\n\n", lf) == HttpParse::ok);
  CHECK(lf.method == "HEAD");
  CHECK(lf.path == "/healthz");
}

TEST_CASE("malformed or oversized heads") {
  HttpRequestHead h;
  CHECK(parse_http_request_head("GET /metrics\r\n\r\n", h) == HttpParse::bad_request);
  CHECK(parse_http_request_head("GET metrics HTTP/1.1\r\n\r\n", h) == HttpParse::bad_request);
  CHECK(parse_http_request_head("GET /a b HTTP/1.1\r\n\r\n", h) == HttpParse::bad_request);
  CHECK(parse_http_request_head("get /metrics HTTP/1.1\r\n\r\n", h) == HttpParse::bad_request);
  CHECK(parse_http_request_head("GET /metrics SMTP/1.1\r\n\r\n", h) == HttpParse::bad_request);
  CHECK(parse_http_request_head("EHLO relay\r\n\r\n", h) == HttpParse::bad_request);
  CHECK(parse_http_request_head(std::string(9000, 'A'), h) == HttpParse::too_large);
  CHECK(parse_http_request_head(std::string(100, 'A'), h, 64) == HttpParse::too_large);
}

// Found by fuzz/fuzz_http_request: a bare CR (and other control or 8-bit
// bytes) in the request target came through into the path.
TEST_CASE("a request target with control or 8-bit bytes is refused") {
  HttpRequestHead h;
  CHECK(parse_http_request_head("HEAD /e*\xf3\r\x06?x=1 HTTP/1.0\r\n\r\n", h) == HttpParse::bad_request);
  CHECK(parse_http_request_head("GET /metrics\rX HTTP/1.1\r\n\r\n", h) == HttpParse::bad_request);
  CHECK(parse_http_request_head(std::string("GET /a\0b HTTP/1.1\r\n\r\n", 21), h) == HttpParse::bad_request);
  CHECK(parse_http_request_head("GET /a\tb HTTP/1.1\r\n\r\n", h) == HttpParse::bad_request);
  CHECK(parse_http_request_head("GET /\x7f HTTP/1.1\r\n\r\n", h) == HttpParse::bad_request);
  REQUIRE(parse_http_request_head("GET /blocks?format=json&x=%20 HTTP/1.1\r\n\r\n", h) == HttpParse::ok);
  CHECK(h.path == "/blocks");
}

TEST_CASE("responses close the connection and carry the body length") {
  CHECK(http_response(200, "text/plain", "ok\n") ==
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
        "Cache-Control: no-store\r\nConnection: close\r\n\r\nok\n");
  CHECK(http_response(503, "text/plain", "not ready\n", true) ==
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n"
        "Cache-Control: no-store\r\nConnection: close\r\n\r\n");
}
