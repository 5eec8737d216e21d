#include "relay/admin_server.hpp"

#include "protocols/http_request.hpp"
#include "relay/admin/blocks_json.hpp"
#include "relay/listen_socket.hpp"
#include "relay/session_support.hpp"

#include <array>

namespace xr::relay {
namespace {

constexpr auto kRequestTimeout = std::chrono::seconds(10);
constexpr std::size_t kMaxHead = 8192;

}  // namespace

AdminServer::AdminServer(net::io_context& ctx, Logger& log, AdminHandlers handlers)
    : ctx_(ctx), log_(log), handlers_(std::move(handlers)) {}

AdminServer::~AdminServer() { stop(); }

void AdminServer::start(const conf::Admin& admin) {
  auto acc = std::make_shared<tcp::acceptor>(ctx_);
  listen_on(*acc, admin.address, admin.port, 64, admin.listen + " (admin)");
  acceptor_ = acc;
  listen_ = admin.listen;
  allow_from_ = admin.allow_from;
  log_.info("", "admin_listening", {{"listen", admin.listen}, {"paths", "/metrics /healthz /readyz /blocks"}});
  boost::system::error_code ec;
  const auto address = net::ip::make_address(admin.address, ec);
  if (ec || !address.is_loopback())
    log_.warn("", "admin_exposed",
              {{"listen", admin.listen},
               {"risk", "metrics and /blocks name users, mailboxes and addresses; only admin.allow_from is answered"},
               {"fix", "listen on 127.0.0.1 and scrape through a tunnel, or keep admin.allow_from to the monitoring hosts"}});
  net::co_spawn(ctx_, accept_loop(acc), net::detached);
}

void AdminServer::stop() {
  if (!acceptor_) return;
  boost::system::error_code ignored;
  acceptor_->close(ignored);
  acceptor_.reset();
  listen_.clear();
}

net::awaitable<void> AdminServer::accept_loop(std::shared_ptr<tcp::acceptor> acceptor) {
  for (;;) {
    auto [ec, socket] = co_await acceptor->async_accept(net::as_tuple(net::use_awaitable));
    if (ec == net::error::operation_aborted || !acceptor->is_open()) co_return;
    if (ec) {
      net::steady_timer t(ctx_, std::chrono::milliseconds(100));
      co_await t.async_wait(net::as_tuple(net::use_awaitable));
      continue;
    }
    net::co_spawn(ctx_, serve(std::move(socket)), net::detached);
  }
}

net::awaitable<void> AdminServer::serve(tcp::socket socket) {
  using namespace net::experimental::awaitable_operators;
  net::steady_timer deadline(ctx_, kRequestTimeout);
  std::string received;
  std::array<char, 1024> buf{};
  protocols::HttpRequestHead head;
  std::string response;
  for (;;) {
    auto r = co_await (socket.async_read_some(net::buffer(buf), net::as_tuple(net::use_awaitable)) ||
                       deadline.async_wait(net::as_tuple(net::use_awaitable)));
    if (r.index() == 1) co_return;  // too slow: just close
    auto [ec, n] = std::get<0>(r);
    if (ec) co_return;
    received.append(buf.data(), n);
    auto parsed = protocols::parse_http_request_head(received, head, kMaxHead);
    if (parsed == protocols::HttpParse::incomplete) continue;
    if (parsed == protocols::HttpParse::bad_request)
      response = protocols::http_response(400, "text/plain", "bad request\n");
    else if (parsed == protocols::HttpParse::too_large)
      response = protocols::http_response(431, "text/plain", "request head too large\n");
    else if (!allowed(socket))
      // The request is read first: closing with unread bytes would reset
      // the connection before the client could read the answer.
      response = protocols::http_response(403, "text/plain", "forbidden: this address is not in admin.allow_from\n");
    else
      response = answer(head.method, head.path);
    break;
  }
  co_await (net::async_write(socket, net::buffer(response), net::as_tuple(net::use_awaitable)) ||
            deadline.async_wait(net::as_tuple(net::use_awaitable)));
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

bool AdminServer::allowed(const tcp::socket& socket) const {
  boost::system::error_code ec;
  socket.remote_endpoint(ec);
  if (ec) return false;  // gone already; ip_of would say "::", which a rule could contain
  const auto ip = ip_of(socket);  // a v4 client on a dual-stack socket comes back as IPv4
  for (const auto& c : allow_from_)
    if (c.contains(ip)) return true;
  return false;
}

std::string AdminServer::answer(const std::string& method, const std::string& path) const {
  const bool head_only = method == "HEAD";
  if (method != "GET" && !head_only) return protocols::http_response(405, "text/plain", "only GET and HEAD\n");
  if (path == "/metrics")
    return protocols::http_response(200, "text/plain; version=0.0.4; charset=utf-8", handlers_.metrics(), head_only);
  if (path == "/healthz") return protocols::http_response(200, "text/plain", "ok\n", head_only);
  if (path == "/readyz") {
    auto reasons = handlers_.not_ready();
    if (reasons.empty()) return protocols::http_response(200, "text/plain", "ready\n", head_only);
    std::string body;
    for (const auto& r : reasons) body += "not ready: " + r + "\n";
    return protocols::http_response(503, "text/plain", body, head_only);
  }
  if (path == "/blocks") {
    auto blocks = handlers_.blocks ? handlers_.blocks() : std::vector<auth::ThrottleBlock>{};
    return protocols::http_response(200, "application/json", blocks_json(blocks, std::chrono::system_clock::now()),
                                    head_only);
  }
  return protocols::http_response(404, "text/plain", "not found; try /metrics, /healthz, /readyz or /blocks\n",
                                  head_only);
}

}  // namespace xr::relay
