// The orchestrator's reports as data: every rollout evaluated by the gate, and
// the JSON of `status --json`, `audit --json` and the hosts table, shared by the
// CLI, the dashboard and the metrics so all three say the same thing.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/duration.hpp"
#include "common/error.hpp"
#include "common/timestamp.hpp"
#include "orchestrator/rollout_store.hpp"
#include "orchestrator/sqlite.hpp"
#include "rollout/audit.hpp"
#include "rollout/gate.hpp"
#include "rollout/host_view.hpp"

namespace patchwave::orchestrator {

/// The host states status shows, in display order (CLI.md's list).
inline constexpr std::array<std::pair<rollout::HostState, const char*>, 8> kStatusColumns{
    {{rollout::HostState::waiting, "waiting"},
     {rollout::HostState::downloading, "downloading"},
     {rollout::HostState::ready, "ready"},
     {rollout::HostState::installing, "installing"},
     {rollout::HostState::reboot_pending, "reboot-pending"},
     {rollout::HostState::verifying, "verifying"},
     {rollout::HostState::installed, "installed"},
     {rollout::HostState::failed, "failed"}}};

/// One rollout as the gate sees it now.
struct EvaluatedRollout {
    StoredManifest stored;
    std::optional<rollout::ControlRecord> control;
    rollout::RolloutState state;
};

/// What the reports are computed from: every rollout (newest publication
/// first) and every known host.
struct FleetReport {
    std::vector<EvaluatedRollout> rollouts;
    std::vector<rollout::HostView> hosts;
};

/// Reads the database and evaluates the gate for every rollout, or only for
/// `only` (Errc::not_found when it was never published).
Result<FleetReport> evaluate_fleet(Database& db, const std::optional<std::string>& only, Timestamp now,
                                   Duration silence);

/// One element of `patchwave status --json`.
nlohmann::json status_json(const EvaluatedRollout& rollout);
/// One element of `patchwave audit --json`.
nlohmann::json audit_json(const rollout::AuditReport& report);
/// `audit --json` over `report`'s rollouts (refusals fleet-wide unless `only` names one rollout).
nlohmann::json audit_all_json(const FleetReport& report, Timestamp now, Duration silence, bool fleet_refusals);
/// Every known host, sorted by name: {"host","agent","labels","last_heard","silent",
/// "rollouts":[{"rollout_id","wave","wave_index"(1-based),"state","since"}]} with one
/// entry per rollout that targets it.
nlohmann::json hosts_json(const FleetReport& report, Timestamp now, Duration silence);

}  // namespace patchwave::orchestrator
