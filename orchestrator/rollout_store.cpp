#include "orchestrator/rollout_store.hpp"

namespace patchwave::orchestrator {
namespace {

Result<std::string> encoded(const crypto::Envelope& envelope) {
    auto bytes = envelope.encode();
    if (!bytes) return std::unexpected(bytes.error());
    return std::string(bytes->begin(), bytes->end());
}

// Stored documents were signed and checked by this orchestrator before they
// were stored; reading them back parses without re-verifying signatures.
Result<StoredManifest> manifest_from_row(const Statement& row, int column) {
    auto envelope = crypto::Envelope::decode(row.column_blob(column));
    if (!envelope) return std::unexpected(envelope.error().with_context("stored manifest"));
    auto manifest = rollout::Manifest::parse_json(envelope->body);
    if (!manifest) return std::unexpected(manifest.error().with_context("stored manifest"));
    return StoredManifest{std::move(*manifest), std::move(*envelope)};
}

}  // namespace

Status store_manifest(Database& db, const rollout::Manifest& manifest, const crypto::Envelope& envelope) {
    auto bytes = encoded(envelope);
    if (!bytes) return std::unexpected(bytes.error());
    auto insert = db.prepare("INSERT INTO manifests (rollout_id, version, envelope, published) VALUES (?, ?, ?, ?)");
    if (!insert) return std::unexpected(insert.error());
    insert->bind(1, manifest.rollout_id)
        .bind(2, static_cast<std::int64_t>(manifest.version))
        .bind_blob(3, *bytes)
        .bind(4, format_timestamp(manifest.published));
    return insert->run();
}

Status store_control(Database& db, const rollout::ControlRecord& record, const crypto::Envelope& envelope) {
    auto bytes = encoded(envelope);
    if (!bytes) return std::unexpected(bytes.error());
    auto insert = db.prepare(
        "INSERT INTO controls (rollout_id, sequence, action, open_wave, reason, operator, time, envelope) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    if (!insert) return std::unexpected(insert.error());
    insert->bind(1, record.rollout_id)
        .bind(2, static_cast<std::int64_t>(record.sequence))
        .bind(3, rollout::to_string(record.action))
        .bind(4, static_cast<std::int64_t>(record.open_wave))
        .bind(5, record.reason)
        .bind(6, record.operator_name)
        .bind(7, format_timestamp(record.time))
        .bind_blob(8, *bytes);
    return insert->run();
}

Result<std::optional<StoredManifest>> latest_manifest(Database& db, std::string_view rollout_id) {
    auto query = db.prepare("SELECT envelope FROM manifests WHERE rollout_id = ? ORDER BY version DESC LIMIT 1");
    if (!query) return std::unexpected(query.error());
    query->bind(1, rollout_id);
    auto row = query->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return std::optional<StoredManifest>{};
    auto stored = manifest_from_row(*query, 0);
    if (!stored) return std::unexpected(stored.error());
    return std::optional<StoredManifest>(std::move(*stored));
}

Result<std::optional<StoredControl>> latest_control(Database& db, std::string_view rollout_id) {
    auto query = db.prepare("SELECT envelope FROM controls WHERE rollout_id = ? ORDER BY sequence DESC LIMIT 1");
    if (!query) return std::unexpected(query.error());
    query->bind(1, rollout_id);
    auto row = query->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return std::optional<StoredControl>{};
    auto envelope = crypto::Envelope::decode(query->column_blob(0));
    if (!envelope) return std::unexpected(envelope.error().with_context("stored control record"));
    auto record = rollout::ControlRecord::parse_json(envelope->body);
    if (!record) return std::unexpected(record.error().with_context("stored control record"));
    return std::optional<StoredControl>(StoredControl{std::move(*record), std::move(*envelope)});
}

Result<std::vector<StoredManifest>> list_rollouts(Database& db) {
    auto query = db.prepare(
        "SELECT m.envelope FROM manifests m "
        "JOIN (SELECT rollout_id, max(version) AS version FROM manifests GROUP BY rollout_id) latest "
        "ON m.rollout_id = latest.rollout_id AND m.version = latest.version "
        "ORDER BY m.published DESC, m.rollout_id");
    if (!query) return std::unexpected(query.error());
    std::vector<StoredManifest> rollouts;
    for (;;) {
        auto row = query->step();
        if (!row) return std::unexpected(row.error());
        if (!*row) break;
        auto stored = manifest_from_row(*query, 0);
        if (!stored) return std::unexpected(stored.error());
        rollouts.push_back(std::move(*stored));
    }
    return rollouts;
}

}  // namespace patchwave::orchestrator
