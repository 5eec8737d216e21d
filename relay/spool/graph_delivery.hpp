// Pieces of the spool's Graph delivery (graph_delivery.cpp) a test can reach.
#pragma once

#include "graph/bcc_prefix.hpp"
#include "spool/attempt_outcome.hpp"

#include <functional>
#include <optional>

namespace xr::relay {

// The Bcc plan of a spooled message from `read` (its header block). A
// spool read error (SpoolError) becomes the attempt's error instead, as on
// the SMTP lanes: a temporary failure, retried, the entry concluded and the
// lane worker alive; never an exception out of the coroutine.
std::optional<graph::BccPlan> bcc_plan_or_error(const std::function<graph::BccPlan()>& read,
                                                spool::AttemptReport& report);

}  // namespace xr::relay
