// `queue flush|hold|release|delete`: each change under the entry's lock, so
// never in the middle of a delivery attempt; the state file is replaced by
// rename and the relay picks the change up through inotify.
#include "spool/queue_ops.hpp"

namespace xr::spool {

const char* to_string(OpOutcome o) {
  switch (o) {
    case OpOutcome::done: return "done";
    case OpOutcome::not_found: return "not found";
    case OpOutcome::busy: return "busy";
  }
  return "busy";
}

OpOutcome apply_queue_op(Store& store, QueueOp op, const std::string& id, int wait_ms) {
  bool busy = false;
  auto entry = store.lock(id, wait_ms, &busy);
  if (!entry) return busy ? OpOutcome::busy : OpOutcome::not_found;
  DeliveryState s = entry->entry().state;
  switch (op) {
    case QueueOp::flush:
      s.next_attempt_ms = 0;
      break;
    case QueueOp::hold:
      s.held = true;
      break;
    case QueueOp::release:
      s.held = false;
      s.next_attempt_ms = 0;
      break;
    case QueueOp::remove:
      store.remove(*entry);
      return OpOutcome::done;
  }
  store.write_state(*entry, s);
  return OpOutcome::done;
}

}  // namespace xr::spool
