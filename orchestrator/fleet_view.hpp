// The orchestrator's picture of the fleet for the gate and the audit: every
// known host with its labels and (once the daemon gathers them) its status.
#pragma once

#include <vector>

#include "common/error.hpp"
#include "orchestrator/sqlite.hpp"
#include "rollout/host_view.hpp"

namespace patchwave::orchestrator {

/// One HostView per known host. Until `patchwave serve` folds status records
/// into the database, no host has a status and every one is silent.
Result<std::vector<rollout::HostView>> load_host_views(Database& db);

}  // namespace patchwave::orchestrator
