// The relay's memory holds client secrets, access tokens and, for a moment,
// device passwords: a core file would write them to disk, readable by
// whoever collects crash reports.
#pragma once

namespace xr::relay::process {

// No core file, and no ptrace or /proc/<pid>/mem access by other processes of
// the same user (PR_SET_DUMPABLE 0 does both). Call first thing, and again
// after a change of user: the kernel resets the flag on setuid().
void disable_core_dumps();

// Whether the flag is off (for tests and `doctor`).
bool core_dumps_disabled();

}  // namespace xr::relay::process
