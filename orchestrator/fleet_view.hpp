// The orchestrator's picture of the fleet for the gate and the audit: every
// known host with its labels, its latest status and when it was last heard.
#pragma once

#include <vector>

#include "common/error.hpp"
#include "orchestrator/sqlite.hpp"
#include "rollout/host_view.hpp"

namespace patchwave::orchestrator {

/// One HostView per known host, with the latest status record `patchwave
/// serve` folded in and when it arrived; a host never heard from has neither
/// (and counts as silent).
Result<std::vector<rollout::HostView>> load_host_views(Database& db);

}  // namespace patchwave::orchestrator
