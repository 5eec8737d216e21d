// After an IMAP/POP3 login the relay no longer parses anything: it copies
// bytes both ways until both sides have closed, an error, the shared idle
// deadline, or a shutdown. Each direction reads at most one buffer and writes
// it completely before reading again, so a slow reader slows the other side
// down (TCP backpressure) and memory stays bounded.
//
// Half-close: when one side closes, the other side is told (close_notify and
// FIN) and the other direction may still deliver what is in flight (the
// server's answer to a LOGOUT the client sent just before closing), for a
// short linger at most.
#pragma once

#include "relay/connection.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace xr::relay {

struct SpliceResult {
  std::uint64_t client_to_upstream = 0;  // bytes
  std::uint64_t upstream_to_client = 0;
  std::string ended_by;  // the first of: "client_closed", "upstream_closed", "idle", "client_error: ...", "shutdown"
};

class Splice {
 public:
  Splice(Connection& client, Connection& upstream, std::chrono::steady_clock::duration idle_timeout,
         std::chrono::steady_clock::duration half_close_linger = std::chrono::seconds(10));

  // Runs until the session is over. Does not close the connections.
  net::awaitable<SpliceResult> run();
  // Ends a running splice soon (relay shutdown).
  void stop();

 private:
  net::awaitable<void> pump(Connection& from, Connection& to, bool from_client);
  std::chrono::steady_clock::duration remaining() const;

  Connection& client_;
  Connection& upstream_;
  std::chrono::steady_clock::duration idle_;
  std::chrono::steady_clock::duration linger_;
  std::chrono::steady_clock::time_point last_activity_;
  std::chrono::steady_clock::time_point linger_until_ = std::chrono::steady_clock::time_point::max();
  bool half_closed_ = false;
  SpliceResult result_;
  bool done_ = false;
  bool stopping_ = false;
};

}  // namespace xr::relay
