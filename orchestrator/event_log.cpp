#include "orchestrator/event_log.hpp"

#include <algorithm>
#include <limits>
#include <string>

namespace patchwave::orchestrator {
namespace {

// The events table belongs to the event log rather than to schema.cpp's migrations: IF NOT EXISTS makes it
// appear on first use in any home, old or new, without a schema version of its own. `wave` is the 0-based
// index (NULL when the event is not about a wave); `details` is a JSON object as text.
constexpr std::string_view kEventTables = R"sql(
CREATE TABLE IF NOT EXISTS events (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  time       TEXT NOT NULL,
  kind       TEXT NOT NULL,
  rollout_id TEXT NOT NULL,
  wave       INTEGER,
  wave_name  TEXT,
  actor      TEXT NOT NULL,
  reason     TEXT NOT NULL,
  details    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_rollout ON events (rollout_id, id);
)sql";

Result<Event> read_row(const Statement& row) {
    Event event;
    event.id = row.column_int(0);
    const std::string where = "events row " + std::to_string(event.id);
    auto time = parse_timestamp(row.column_text(1));
    if (!time) return std::unexpected(time.error().with_context(where + ": time"));
    event.time = *time;
    event.kind = row.column_text(2);
    event.rollout_id = row.column_text(3);
    if (!row.column_is_null(4)) {
        const std::int64_t wave = row.column_int(4);
        if (wave < 0 || wave > std::numeric_limits<std::uint32_t>::max()) {
            return fail(Errc::parse, where + ": wave " + std::to_string(wave) + " is not a wave index");
        }
        event.wave = static_cast<std::uint32_t>(wave);
    }
    if (!row.column_is_null(5)) event.wave_name = row.column_text(5);
    event.actor = row.column_text(6);
    event.reason = row.column_text(7);
    event.details = nlohmann::json::parse(row.column_text(8), nullptr, /*allow_exceptions=*/false);
    if (event.details.is_discarded()) return fail(Errc::parse, where + ": details is not valid JSON");
    return event;
}

}  // namespace

nlohmann::json Event::to_json() const {
    nlohmann::json out = {{"id", id},
                          {"time", format_timestamp(time)},
                          {"kind", kind},
                          {"rollout_id", rollout_id},
                          {"wave", wave ? nlohmann::json(*wave + 1) : nlohmann::json(nullptr)}};
    if (wave_name) out["wave_name"] = *wave_name;
    out["actor"] = actor;
    out["reason"] = reason;
    out["details"] = details;
    return out;
}

Status ensure_event_tables(Database& db) {
    if (auto ok = db.exec(kEventTables); !ok)
        return std::unexpected(ok.error().with_context("creating the events table"));
    return {};
}

Result<Event> append_event(Database& db, Event event) {
    if (event.kind.empty()) return fail(Errc::invalid_argument, "event: kind is empty");
    if (!event.details.is_object()) {
        return fail(Errc::invalid_argument, "event " + event.kind + ": details must be a JSON object, not "
                                                + std::string(event.details.type_name()));
    }
    if (auto ok = ensure_event_tables(db); !ok) return std::unexpected(ok.error());
    auto insert = db.prepare(
        "INSERT INTO events (time, kind, rollout_id, wave, wave_name, actor, reason, details) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    if (!insert) return std::unexpected(insert.error());
    insert->bind(1, format_timestamp(event.time)).bind(2, event.kind).bind(3, event.rollout_id);
    if (event.wave) {
        insert->bind(4, static_cast<std::int64_t>(*event.wave));
    } else {
        insert->bind_null(4);
    }
    if (event.wave_name) {
        insert->bind(5, *event.wave_name);
    } else {
        insert->bind_null(5);
    }
    // The returned event holds the details as stored and as list_events will read them back (invalid UTF-8
    // replaced, every non-negative integer unsigned), so a caller sees the same values either way.
    const std::string details = event.details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    event.details = nlohmann::json::parse(details);
    insert->bind(6, event.actor).bind(7, event.reason).bind(8, details);
    if (auto ok = insert->run(); !ok) {
        return std::unexpected(ok.error().with_context("appending event " + event.kind + " of " + event.rollout_id));
    }
    event.id = db.last_insert_rowid();
    return event;
}

Result<std::vector<Event>> list_events(Database& db, std::int64_t after_id, std::size_t limit,
                                       std::optional<std::string> rollout_id) {
    if (auto ok = ensure_event_tables(db); !ok) return std::unexpected(ok.error());
    const std::string columns =
        "SELECT id, time, kind, rollout_id, wave, wave_name, actor, reason, details FROM events ";
    auto query = db.prepare(
        columns
        + (rollout_id ? "WHERE id > ? AND rollout_id = ? ORDER BY id LIMIT ?" : "WHERE id > ? ORDER BY id LIMIT ?"));
    if (!query) return std::unexpected(query.error());
    // SQLite limits are signed 64-bit; anything above is "all of them".
    const auto capped = static_cast<std::int64_t>(
        std::min<std::size_t>(limit, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())));
    int index = 1;
    query->bind(index++, after_id);
    if (rollout_id) query->bind(index++, *rollout_id);
    query->bind(index, capped);
    std::vector<Event> events;
    for (;;) {
        auto row = query->step();
        if (!row) return std::unexpected(row.error().with_context("listing events"));
        if (!*row) break;
        auto event = read_row(*query);
        if (!event) return std::unexpected(event.error());
        events.push_back(std::move(*event));
    }
    return events;
}

}  // namespace patchwave::orchestrator
