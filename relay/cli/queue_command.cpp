#include "relay/cli/queue_command.hpp"

#include "conf/config.hpp"
#include "relay/process/drop_privileges.hpp"
#include "spool/queue_id.hpp"
#include "spool/queue_ops.hpp"

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ostream>

namespace xr::relay::cli {
namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Action {
  const char* name;
  spool::QueueOp op;
  const char* done;  // "held 0123..."
};
constexpr Action kActions[] = {
    {"flush", spool::QueueOp::flush, "flushed"},
    {"hold", spool::QueueOp::hold, "held"},
    {"release", spool::QueueOp::release, "released"},
    {"delete", spool::QueueOp::remove, "deleted"},
};

int list(spool::Store& store, bool json, std::ostream& out, std::ostream& err) {
  auto scan = store.scan(false);
  auto rows = spool::queue_rows(scan.entries);
  out << (json ? spool::render_queue_json(rows, now_ms()) : spool::render_queue_table(rows, now_ms()));
  for (const auto& id : scan.unreadable)
    err << "damaged entry " << id << ": not delivered; the relay moves it to " << store.dir()
        << "/corrupt/ when it starts\n";
  return 0;
}

// One line per id; 0 only if every id was done.
int apply(spool::Store& store, const Action& action, const std::vector<std::string>& ids, int wait_ms,
          std::ostream& out, std::ostream& err) {
  int status = 0;
  for (const auto& id : ids) {
    try {
      switch (spool::apply_queue_op(store, action.op, id, wait_ms)) {
        case spool::OpOutcome::done: out << action.done << ' ' << id << "\n"; continue;
        case spool::OpOutcome::not_found: out << "not found: " << id << "\n"; break;
        case spool::OpOutcome::busy: out << "busy: " << id << " is being delivered, try again\n"; break;
      }
    } catch (const spool::SpoolError& e) {
      err << "error: " << id << ": " << e.what() << "\n";
    }
    status = 1;
  }
  return status;
}

// Root (an admin with sudo) works on the spool as its owner, the relay's
// user: files it writes must stay readable by the relay, and root's power is
// not needed for the rest. False (and a message) when that fails.
bool become_spool_owner(const std::string& dir, std::ostream& err) {
  if (geteuid() != 0) return true;
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return true;  // the Store reports it
  if (st.st_uid == 0) return true;
  try {
    process::switch_identity({"", st.st_uid, st.st_gid});
  } catch (const std::exception& e) {
    err << "queue: cannot switch to the spool's owner (uid " << st.st_uid << "): " << e.what()
        << "; run it as that user (sudo -u xoauth2-relay ...)\n";
    return false;
  }
  return true;
}

}  // namespace

int run_queue_command(const QueueCommand& cmd, std::ostream& out, std::ostream& err) {
  const Action* action = nullptr;
  for (const auto& a : kActions)
    if (cmd.action == a.name) action = &a;
  if (!action && cmd.action != "list") {
    err << "queue: unknown action \"" << cmd.action << "\"\n";
    return 2;
  }
  if (action) {
    int bad = 0;
    for (const auto& id : cmd.ids)
      if (!spool::valid_queue_id(id)) {
        err << "queue " << cmd.action << ": \"" << id
            << "\" is not a queue id (20 upper-case hex digits, B at the end for a bounce, as `queue list` shows)\n";
        ++bad;
      }
    if (bad) return 2;
    if (cmd.ids.empty() && action->op != spool::QueueOp::flush) {
      err << "queue " << cmd.action << ": give the ids of the messages (see `queue list`)\n";
      return 2;
    }
  }

  auto loaded = conf::load_config(cmd.config_path);
  if (!loaded.config) {
    for (const auto& e : loaded.errors) err << e.format() << "\n";
    err << loaded.errors.size() << (loaded.errors.size() == 1 ? " error" : " errors") << "\n";
    return 1;
  }
  if (!loaded.config->spool) {
    err << "no spool configured in " << cmd.config_path << " (add a spool: section or delivery: spool)\n";
    return 1;
  }
  if (!become_spool_owner(loaded.config->spool->dir, err)) return 1;
  try {
    // Not exclusive: the relay holds that lock. Not created: a wrong
    // --config must not make a spool somewhere.
    spool::Store store(spool::Store::Options{loaded.config->spool->dir, false, false});
    if (!action) return list(store, cmd.json, out, err);
    std::vector<std::string> ids = cmd.ids;
    if (ids.empty()) {  // flush everything
      for (const auto& e : store.scan(false).entries) ids.push_back(e.envelope.id);
      if (ids.empty()) {
        out << "queue is empty\n";
        return 0;
      }
    }
    return apply(store, *action, ids, cmd.wait_ms, out, err);
  } catch (const spool::SpoolError& e) {
    err << e.what() << "\n";
    return 1;
  }
}

}  // namespace xr::relay::cli
