#include "orchestrator/status_store.hpp"

#include <spdlog/spdlog.h>

namespace patchwave::orchestrator {

Result<bool> store_status(Database& db, const rollout::StatusRecord& record, std::string_view envelope,
                          Timestamp received) {
    auto upsert = db.prepare(
        "INSERT INTO statuses (agent_id, sequence, received, body, envelope) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(agent_id) DO UPDATE SET sequence = excluded.sequence, received = excluded.received, "
        "body = excluded.body, envelope = excluded.envelope WHERE excluded.sequence > statuses.sequence");
    if (!upsert) return std::unexpected(upsert.error());
    upsert->bind(1, rollout::to_hex(record.agent))
        .bind(2, static_cast<std::int64_t>(record.sequence))
        .bind(3, format_timestamp(received))
        .bind(4, record.to_json())
        .bind_blob(5, envelope);
    if (auto ok = upsert->run(); !ok) return std::unexpected(ok.error().with_context("storing a status record"));
    return db.changes() > 0;
}

Result<std::map<std::string, std::uint64_t>> status_sequences(Database& db) {
    auto query = db.prepare("SELECT agent_id, sequence FROM statuses");
    if (!query) return std::unexpected(query.error());
    std::map<std::string, std::uint64_t> sequences;
    for (;;) {
        auto row = query->step();
        if (!row) return std::unexpected(row.error());
        if (!*row) break;
        sequences[query->column_text(0)] = static_cast<std::uint64_t>(query->column_int(1));
    }
    return sequences;
}

Result<std::map<std::string, StoredStatus>> load_statuses(Database& db) {
    auto query = db.prepare("SELECT agent_id, received, body FROM statuses");
    if (!query) return std::unexpected(query.error());
    std::map<std::string, StoredStatus> statuses;
    for (;;) {
        auto row = query->step();
        if (!row) return std::unexpected(row.error());
        if (!*row) break;
        const std::string agent = query->column_text(0);
        auto received = parse_timestamp(query->column_text(1));
        auto record = rollout::StatusRecord::parse_json(query->column_text(2));
        if (!received || !record) {
            spdlog::warn("stored status of agent {} is unreadable, ignored: {}", agent,
                         !received ? received.error().message() : record.error().message());
            continue;
        }
        statuses.emplace(agent, StoredStatus{std::move(*record), *received});
    }
    return statuses;
}

}  // namespace patchwave::orchestrator
