// The running relay: io_contexts (one per thread, sessions spread across
// them), listeners, signals (TERM/INT: drain and exit; HUP: reload), the
// token provider and the login cache.
#pragma once

#include "conf/config.hpp"
#include "relay/log.hpp"

#include <memory>
#include <string>

namespace xr::relay {

struct ServerOptions {
  std::string config_path;  // re-read on SIGHUP
  int io_threads = 0;       // 0: one per core
};

// Runs until SIGTERM/SIGINT; returns the process exit code. Start-up
// failures (a port in use, unreadable certificate) are logged and return 1.
int run_server(conf::Config config, const ServerOptions& options, Logger& log);

}  // namespace xr::relay
