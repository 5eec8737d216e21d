#include "relay/process/core_dumps.hpp"

#include <sys/prctl.h>
#include <sys/resource.h>

namespace xr::relay::process {

void disable_core_dumps() {
  // Both: RLIMIT_CORE covers a handler that would re-enable dumping, and
  // PR_SET_DUMPABLE also keeps same-user processes from reading our memory.
  struct rlimit none {0, 0};
  ::setrlimit(RLIMIT_CORE, &none);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

bool core_dumps_disabled() { return ::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0; }

}  // namespace xr::relay::process
