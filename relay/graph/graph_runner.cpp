#include "relay/graph/graph_runner.hpp"

#include "relay/blocking_call.hpp"

namespace xr::relay {

GraphRunner::GraphRunner(std::unique_ptr<graph::Client> client, std::size_t threads)
    : client_(std::move(client)), pool_(threads) {}

GraphRunner::~GraphRunner() {
  shutdown();
  pool_.join();
}

net::awaitable<graph::SendResult> GraphRunner::send_mail(const graph::Target& target, graph::MessageSource& mime) {
  auto* client = client_.get();
  co_return co_await blocking_call(pool_, [client, &target, &mime] { return client->send_mail(target, mime); });
}

void GraphRunner::shutdown() {
  if (client_) client_->shutdown();
}

}  // namespace xr::relay
