// The orchestrator database schema and its migrations: every table the home's
// SQLite file holds, created or upgraded in one transaction.
#pragma once

#include "common/error.hpp"
#include "orchestrator/sqlite.hpp"

namespace patchwave::orchestrator {

/// The schema version this build writes.
inline constexpr int kSchemaVersion = 2;

/// Creates the tables of a new database or upgrades an older one to
/// kSchemaVersion. Refuses (Errc::state) a database written by a newer build.
Status migrate(Database& db);

}  // namespace patchwave::orchestrator
