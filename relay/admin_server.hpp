// The optional admin endpoint (`admin: {listen: ...}`): plain HTTP for
// monitoring on a trusted address, one request per connection.
//   /metrics  Prometheus text format
//   /healthz  200 while the process runs
//   /readyz   200 when ready, else 503 with the reasons, one per line
#pragma once

#include "conf/config.hpp"
#include "relay/asio.hpp"
#include "relay/log.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace xr::relay {

struct AdminHandlers {
  std::function<std::string()> metrics;
  // Empty when ready; otherwise what is not ready, for people.
  std::function<std::vector<std::string>()> not_ready;
};

class AdminServer {
 public:
  AdminServer(net::io_context& ctx, Logger& log, AdminHandlers handlers);
  ~AdminServer();
  // Binds and starts accepting; throws std::runtime_error naming the address.
  void start(const conf::Admin& admin);
  void stop();
  const std::string& listen() const { return listen_; }

 private:
  net::awaitable<void> accept_loop(std::shared_ptr<tcp::acceptor> acceptor);
  net::awaitable<void> serve(tcp::socket socket);
  std::string answer(const std::string& method, const std::string& path) const;

  net::io_context& ctx_;
  Logger& log_;
  AdminHandlers handlers_;
  std::shared_ptr<tcp::acceptor> acceptor_;
  std::string listen_;
};

}  // namespace xr::relay
