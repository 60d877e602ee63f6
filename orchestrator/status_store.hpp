// The agents' latest status records in the database, as `patchwave serve`
// folds them in from gossip: one row per agent, replaced only by a higher sequence.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "common/error.hpp"
#include "common/timestamp.hpp"
#include "orchestrator/sqlite.hpp"
#include "rollout/ids.hpp"
#include "rollout/status_record.hpp"

namespace patchwave::orchestrator {

struct StoredStatus {
    rollout::StatusRecord record;
    Timestamp received{};  ///< the orchestrator's clock when it arrived
};

/// Stores `record` (whose signature gossip verified) unless the database
/// holds the same or a higher sequence for the agent. Returns whether it was
/// stored. `envelope` is the exact signed bytes, kept for later re-checks.
Result<bool> store_status(Database& db, const rollout::StatusRecord& record, std::string_view envelope,
                          Timestamp received);

/// The highest stored sequence of every agent (agent id hex -> sequence).
Result<std::map<std::string, std::uint64_t>> status_sequences(Database& db);

/// Every stored status by agent id hex. A row whose body no longer parses is
/// skipped with a warning: one bad row must not hide the fleet.
Result<std::map<std::string, StoredStatus>> load_statuses(Database& db);

}  // namespace patchwave::orchestrator
