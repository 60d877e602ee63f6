// Published rollouts in the database: every signed manifest version and every
// control record, with queries for the latest of each.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/timestamp.hpp"
#include "crypto/envelope.hpp"
#include "orchestrator/sqlite.hpp"
#include "rollout/control_record.hpp"
#include "rollout/manifest.hpp"

namespace patchwave::orchestrator {

struct StoredManifest {
    rollout::Manifest manifest;
    crypto::Envelope envelope;
};

struct StoredControl {
    rollout::ControlRecord record;
    crypto::Envelope envelope;
};

Status store_manifest(Database& db, const rollout::Manifest& manifest, const crypto::Envelope& envelope);
Status store_control(Database& db, const rollout::ControlRecord& record, const crypto::Envelope& envelope);

/// The highest version published for `rollout_id`, or nullopt.
Result<std::optional<StoredManifest>> latest_manifest(Database& db, std::string_view rollout_id);
/// The highest-sequence control record for `rollout_id`, or nullopt.
Result<std::optional<StoredControl>> latest_control(Database& db, std::string_view rollout_id);
/// The latest manifest of every rollout, newest publication first.
Result<std::vector<StoredManifest>> list_rollouts(Database& db);

}  // namespace patchwave::orchestrator
