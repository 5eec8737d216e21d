// Runs Microsoft Graph calls (graph::Client, blocking libcurl) on a small
// pool of their own, never on an I/O thread and never on the `blocking` pool:
// a sendMail may take as long as its upload (minutes for 3 MB over a slow
// link), and crypt(3) for logins must not queue behind it.
#pragma once

#include "graph/graph_client.hpp"
#include "relay/asio.hpp"

#include <memory>

namespace xr::relay {

class GraphRunner {
 public:
  // At most this many Graph requests run at once, relay-wide (more wait for
  // a thread); per mailbox Graph's own limit (4) applies first (MailboxSlots).
  static constexpr std::size_t kThreads = 8;

  explicit GraphRunner(std::unique_ptr<graph::Client> client, std::size_t threads = kThreads);
  ~GraphRunner();  // stops the client, then waits for the threads
  GraphRunner(const GraphRunner&) = delete;
  GraphRunner& operator=(const GraphRunner&) = delete;

  // sendMail on the pool; resumes the caller on its own executor. `mime` is
  // read on the pool thread and must outlive the call (the caller awaits it).
  net::awaitable<graph::SendResult> send_mail(const graph::Target& target, graph::MessageSource& mime);

  // A stopping relay: requests in progress and later ones fail promptly.
  void shutdown();

 private:
  std::unique_ptr<graph::Client> client_;
  net::thread_pool pool_;
};

}  // namespace xr::relay
