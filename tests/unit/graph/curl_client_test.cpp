// The curl client without a network: plain http:// is never spoken (the
// token would travel in clear), and a stopped client fails at once.
#include "graph/graph_client.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace xr::graph;

namespace {

class Bytes : public MessageSource {
 public:
  std::uint64_t size() const override { return 3; }
  std::size_t read(char* out, std::size_t n) override {
    if (done_ || n < 3) return 0;
    done_ = true;
    out[0] = 'a', out[1] = 'b', out[2] = 'c';
    return 3;
  }

 private:
  bool done_ = false;
};

Target target(const std::string& endpoint) {
  Target t;
  t.endpoint = endpoint;
  t.mailbox = "scan@contoso.com";
  t.token = xr::conf::Secret("eyJ0eXAi.secret-token.sig");
  t.connect_timeout = std::chrono::milliseconds(2000);
  t.total_timeout = std::chrono::milliseconds(4000);
  return t;
}

}  // namespace

TEST_CASE("graph curl client: http:// is refused before any byte is sent") {
  auto client = make_curl_client();
  Bytes mime;
  auto r = client->send_mail(target("http://127.0.0.1:9"), mime);
  CHECK(r.kind == SendResult::Kind::temporary);
  CHECK(r.http_status == 0);
  CHECK(r.reply.enhanced() == "4.4.2");
  CHECK(r.detail.find("secret-token") == std::string::npos);
  CHECK(r.reply.summary().find("secret-token") == std::string::npos);
  CHECK_FALSE(r.request_id.empty());  // our client-request-id, for Microsoft support
}

TEST_CASE("graph curl client: after shutdown requests fail at once as temporary") {
  auto client = make_curl_client();
  client->shutdown();
  Bytes mime;
  auto r = client->send_mail(target("https://127.0.0.1:9"), mime);
  CHECK(r.kind == SendResult::Kind::temporary);
  CHECK(r.reply.enhanced() == "4.3.2");
  CHECK(client->get_user(target("https://127.0.0.1:9")).reply.enhanced() == "4.3.2");
}
