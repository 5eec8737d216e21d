// Process hardening: core dumps off, and the drop from root to server.user.
#include "relay/process/core_dumps.hpp"
#include "relay/process/drop_privileges.hpp"

#include <doctest/doctest.h>

#include <grp.h>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>
#include <string>

using namespace xr::relay::process;

TEST_CASE("disable_core_dumps: not dumpable, and a zero core limit") {
  disable_core_dumps();
  CHECK(core_dumps_disabled());
  struct rlimit rl {};
  REQUIRE(::getrlimit(RLIMIT_CORE, &rl) == 0);
  CHECK(rl.rlim_cur == 0);
}

TEST_CASE("plan_drop: not root, or root under systemd, changes nothing") {
  CHECK_FALSE(plan_drop("nobody", 1000, false).target);
  CHECK(plan_drop("nobody", 1000, false).note.empty());
  auto systemd = plan_drop("nobody", 0, true);
  CHECK_FALSE(systemd.target);
  CHECK(systemd.note.find("systemd") != std::string::npos);
}

TEST_CASE("plan_drop: root outside systemd becomes server.user") {
  struct passwd* nobody = ::getpwnam("nobody");
  REQUIRE(nobody != nullptr);
  auto plan = plan_drop("nobody", 0, false);
  REQUIRE(plan.target);
  CHECK(plan.target->name == "nobody");
  CHECK(plan.target->uid == nobody->pw_uid);
  CHECK(plan.target->gid == nobody->pw_gid);
}

TEST_CASE("plan_drop: a missing user refuses the start and says how to fix it") {
  try {
    plan_drop("xr-no-such-user-42", 0, false);
    FAIL("no exception");
  } catch (const std::runtime_error& e) {
    std::string m = e.what();
    CHECK(m.find("server.user `xr-no-such-user-42` does not exist") != std::string::npos);
    CHECK(m.find("useradd --system") != std::string::npos);
    CHECK(m.find("or set server.user") != std::string::npos);
  }
}

TEST_CASE("plan_drop: server.user root is an explicit choice to stay root") {
  auto plan = plan_drop("root", 0, false);
  CHECK_FALSE(plan.target);
  CHECK(plan.note.find("root") != std::string::npos);
}

TEST_CASE("switch_identity: all ids change, supplementary groups too, and root cannot be regained") {
  if (::geteuid() != 0) {
    MESSAGE("needs root; skipped");
    return;
  }
  struct passwd* nobody = ::getpwnam("nobody");
  REQUIRE(nobody != nullptr);
  Identity who{"nobody", nobody->pw_uid, nobody->pw_gid};
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // The child reports by exit code: 0 all good, else which check failed.
    try {
      switch_identity(who);
    } catch (...) {
      ::_exit(10);
    }
    uid_t r, e, s;
    gid_t rg, eg, sg;
    ::getresuid(&r, &e, &s);
    ::getresgid(&rg, &eg, &sg);
    if (r != who.uid || e != who.uid || s != who.uid) ::_exit(11);
    if (rg != who.gid || eg != who.gid || sg != who.gid) ::_exit(12);
    if (::setuid(0) == 0 || ::seteuid(0) == 0 || ::setgid(0) == 0) ::_exit(13);
    gid_t groups[64];
    int n = ::getgroups(64, groups);
    for (int i = 0; i < n; ++i)
      if (groups[i] == 0) ::_exit(14);  // root's group must be gone
    if (!core_dumps_disabled()) ::_exit(15);
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
