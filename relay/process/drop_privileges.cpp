#include "relay/process/drop_privileges.hpp"

#include "relay/process/core_dumps.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace xr::relay::process {
namespace {

[[noreturn]] void fail(const std::string& what, int err) {
  throw std::runtime_error("cannot drop root privileges: " + what + ": " + std::strerror(err));
}

std::optional<Identity> lookup(const std::string& name) {
  std::vector<char> buf(16384);
  struct passwd pw {};
  struct passwd* found = nullptr;
  int rc = ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
  if (rc != 0 || found == nullptr) return std::nullopt;
  return Identity{name, pw.pw_uid, pw.pw_gid};
}

}  // namespace

DropPlan plan_drop(const std::string& user, uid_t euid, bool under_systemd) {
  if (euid != 0) return {};
  if (under_systemd) return {std::nullopt, "started by systemd as root (User= not set); staying root"};
  auto who = lookup(user);
  if (!who)
    throw std::runtime_error(
        "started as root, and server.user `" + user + "` does not exist, so the relay cannot drop root after "
        "binding its ports; create it (useradd --system --no-create-home --shell /usr/sbin/nologin " + user +
        ") or set server.user to an existing unprivileged user");
  // `user: root` is an explicit choice (a container that is its own
  // sandbox): honoured, and said in the log.
  if (who->uid == 0) return {std::nullopt, "server.user `" + user + "` is root; running as root"};
  return {who, ""};
}

DropPlan plan_drop(const std::string& user) {
  const char* invocation = std::getenv("INVOCATION_ID");
  return plan_drop(user, ::geteuid(), invocation != nullptr && *invocation != '\0');
}

void switch_identity(const Identity& who) {
  // Groups first: after setuid() we could no longer change them.
  if (!who.name.empty()) {
    if (::initgroups(who.name.c_str(), who.gid) != 0) fail("initgroups(" + who.name + ")", errno);
  } else if (::setgroups(0, nullptr) != 0) {
    fail("setgroups", errno);
  }
  if (::setresgid(who.gid, who.gid, who.gid) != 0) fail("setgid(" + std::to_string(who.gid) + ")", errno);
  if (::setresuid(who.uid, who.uid, who.uid) != 0) fail("setuid(" + std::to_string(who.uid) + ")", errno);
  uid_t ru, eu, su;
  gid_t rg, eg, sg;
  if (::getresuid(&ru, &eu, &su) != 0 || ::getresgid(&rg, &eg, &sg) != 0) fail("getresuid", errno);
  if (ru != who.uid || eu != who.uid || su != who.uid || rg != who.gid || eg != who.gid || sg != who.gid)
    throw std::runtime_error("cannot drop root privileges: the ids did not change as asked");
  // The point of it all: no way back. setuid(0) must fail now.
  if (who.uid != 0 && ::setuid(0) == 0)
    throw std::runtime_error("cannot drop root privileges: root could be regained after setuid");
  disable_core_dumps();  // setuid() resets the dumpable flag
}

}  // namespace xr::relay::process
