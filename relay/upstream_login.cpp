#include "relay/upstream_login.hpp"

#include "protocols/secret.hpp"

#include <array>

namespace xr::relay {

net::awaitable<ClientEvent> drive_login(Connection& conn, LoginClient& client, std::chrono::seconds reply_timeout,
                                        std::string& io_problem) {
  io_problem = "-";
  std::array<char, 4096> buf{};
  for (;;) {
    auto ev = client.next();
    std::string out = client.take_output();
    if (!out.empty()) {
      auto w = co_await conn.write_all(out, reply_timeout);
      wipe_secret(out);  // may hold the token
      if (!w.ok()) {
        io_problem = "write: " + w.describe();
        client.eof();
        continue;
      }
    }
    if (ev != ClientEvent::need_input) co_return ev;
    auto r = co_await conn.read_some(net::buffer(buf), reply_timeout);
    if (r.ok()) {
      client.feed(std::string_view(buf.data(), r.bytes));
    } else {
      io_problem = "read: " + r.describe();
      client.eof();
    }
  }
}

}  // namespace xr::relay
