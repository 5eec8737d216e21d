// The optional admin endpoint (`admin: {listen: ...}`): plain HTTP for
// monitoring on a trusted address, one request per connection.
//   /metrics  Prometheus text format
//   /healthz  200 while the process runs
//   /readyz   200 when ready, else 503 with the reasons, one per line
//             ("not ready: tenant contoso has no token: AADSTS... ; fix: ...")
//   /blocks   the brute-force throttle's blocks in force, JSON
// Only sources in admin.allow_from are answered; others get 403.
#pragma once

#include "auth/auth_throttle.hpp"
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
  std::function<std::vector<auth::ThrottleBlock>()> blocks;
};

class AdminServer {
 public:
  AdminServer(net::io_context& ctx, Logger& log, AdminHandlers handlers);
  ~AdminServer();
  // Binds and starts accepting; throws std::runtime_error naming the address.
  void start(const conf::Admin& admin);
  void stop();
  // On reload when the address stays: who may talk to it.
  void set_allow_from(std::vector<conf::Cidr> allow_from) { allow_from_ = std::move(allow_from); }
  const std::string& listen() const { return listen_; }

 private:
  net::awaitable<void> accept_loop(std::shared_ptr<tcp::acceptor> acceptor);
  net::awaitable<void> serve(tcp::socket socket);
  std::string answer(const std::string& method, const std::string& path) const;
  bool allowed(const tcp::socket& socket) const;

  net::io_context& ctx_;
  Logger& log_;
  AdminHandlers handlers_;
  std::shared_ptr<tcp::acceptor> acceptor_;
  std::string listen_;
  std::vector<conf::Cidr> allow_from_;  // main context only, like everything here
};

}  // namespace xr::relay
