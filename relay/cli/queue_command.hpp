// `xoauth2-relay queue list|flush|delete|hold|release`: the operator's view
// of the spool and the changes they may make to it, safe while the relay
// runs (spool/queue_ops.hpp). The CLI only changes files; the running relay
// notices (inotify). No Asio here.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace xr::relay::cli {

struct QueueCommand {
  std::string action;  // list | flush | delete | hold | release
  std::string config_path;
  std::vector<std::string> ids;  // flush: none = every entry
  bool json = false;             // list only
  int wait_ms = 10000;           // for an entry being delivered
};

// Runs it and returns the exit status: 0 when everything asked was done;
// 1 on a configuration or spool error, or when an id was not found or busy;
// 2 when an id is not a queue id (nothing is done then).
int run_queue_command(const QueueCommand& cmd, std::ostream& out, std::ostream& err);

}  // namespace xr::relay::cli
