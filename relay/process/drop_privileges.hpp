// Started as root outside systemd (a hand-made init script, a container,
// `sudo xoauth2-relay run`): root is needed only to bind ports below 1024,
// so after binding the relay becomes server.user, or does not start.
// Under systemd the unit's User= has done this already.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace xr::relay::process {

struct Identity {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

// What run() does about its user, decided before anything is bound, so a
// missing user stops the start before the spool or a port is touched.
struct DropPlan {
  std::optional<Identity> target;  // empty: stay as we are
  std::string note;                // why we stay (for the log), when it matters
};

// euid: geteuid(); under_systemd: $INVOCATION_ID is set (systemd sets it for
// every unit it starts). Throws std::runtime_error when the user does not
// exist, with the two ways to fix it.
DropPlan plan_drop(const std::string& user, uid_t euid, bool under_systemd);
// The same for this process.
DropPlan plan_drop(const std::string& user);

// Becomes `who`: supplementary groups (initgroups when `who.name` is set, none
// otherwise), gid, uid, in that order; then checks that root cannot be
// regained. Throws std::runtime_error saying what failed.
void switch_identity(const Identity& who);

}  // namespace xr::relay::process
