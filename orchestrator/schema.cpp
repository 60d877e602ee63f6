#include "orchestrator/schema.hpp"

#include <string>

namespace patchwave::orchestrator {
namespace {

// Version 1. Signed documents are stored as their exact envelope bytes; the
// other columns are an index over them for queries and display.
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE roots (
  version   INTEGER PRIMARY KEY,
  envelope  BLOB NOT NULL,
  created   TEXT NOT NULL
);
CREATE TABLE bundles (
  id              TEXT PRIMARY KEY,
  name            TEXT NOT NULL,
  version         TEXT NOT NULL,
  priority        TEXT NOT NULL,
  category        TEXT NOT NULL,
  description     TEXT NOT NULL,
  reboot          TEXT NOT NULL,
  metadata_digest TEXT NOT NULL,
  bundle_toml     BLOB NOT NULL,
  triage          TEXT NOT NULL DEFAULT 'proceed',
  total_bytes     INTEGER NOT NULL,
  file_count      INTEGER NOT NULL,
  created         TEXT NOT NULL
);
CREATE TABLE approvals (
  bundle_id   TEXT NOT NULL REFERENCES bundles(id),
  approver    TEXT NOT NULL,
  change_ref  TEXT NOT NULL,
  note        TEXT NOT NULL,
  approved_at TEXT NOT NULL,
  envelope    BLOB NOT NULL,
  PRIMARY KEY (bundle_id, approver)
);
CREATE TABLE hosts (
  agent_id    TEXT PRIMARY KEY,
  host        TEXT NOT NULL,
  labels      TEXT NOT NULL,
  expires     TEXT NOT NULL,
  certificate BLOB NOT NULL,
  enrolled    TEXT NOT NULL
);
CREATE TABLE manifests (
  rollout_id TEXT NOT NULL,
  version    INTEGER NOT NULL,
  envelope   BLOB NOT NULL,
  published  TEXT NOT NULL,
  PRIMARY KEY (rollout_id, version)
);
CREATE TABLE controls (
  rollout_id TEXT NOT NULL,
  sequence   INTEGER NOT NULL,
  action     TEXT NOT NULL,
  open_wave  INTEGER NOT NULL,
  reason     TEXT NOT NULL,
  operator   TEXT NOT NULL,
  time       TEXT NOT NULL,
  envelope   BLOB NOT NULL,
  PRIMARY KEY (rollout_id, sequence)
);
)sql";

// Version 2: the latest status record of every agent, folded in by
// `patchwave serve` (the envelope as received; the body for queries).
constexpr std::string_view kSchemaV2 = R"sql(
CREATE TABLE statuses (
  agent_id  TEXT PRIMARY KEY,
  sequence  INTEGER NOT NULL,
  received  TEXT NOT NULL,
  body      TEXT NOT NULL,
  envelope  BLOB NOT NULL
);
)sql";

Result<int> current_version(Database& db) {
    auto exists = db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'");
    if (!exists) return std::unexpected(exists.error());
    if (auto row = exists->step(); !row) return std::unexpected(row.error());
    if (exists->column_int(0) == 0) return 0;
    auto query = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'");
    if (!query) return std::unexpected(query.error());
    auto row = query->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return fail(Errc::state, "database has no schema version");
    return std::stoi(query->column_text(0));
}

}  // namespace

Status migrate(Database& db) {
    auto transaction = Transaction::begin(db);
    if (!transaction) return std::unexpected(transaction.error());
    auto version = current_version(db);
    if (!version) return std::unexpected(version.error());
    if (*version > kSchemaVersion) {
        return fail(Errc::state, "database schema v" + std::to_string(*version) +
                                     " is newer than this patchwave understands (v" +
                                     std::to_string(kSchemaVersion) + "); upgrade patchwave");
    }
    if (*version == kSchemaVersion) return {};
    if (*version == 0) {
        if (auto ok = db.exec(kSchemaV1); !ok) return ok;
        if (auto ok = db.exec("INSERT INTO meta (key, value) VALUES ('schema_version', '1')"); !ok) return ok;
    }
    if (*version <= 1) {
        if (auto ok = db.exec(kSchemaV2); !ok) return ok;
        if (auto ok = db.exec("UPDATE meta SET value = '2' WHERE key = 'schema_version'"); !ok) return ok;
    }
    return transaction->commit();
}

}  // namespace patchwave::orchestrator
