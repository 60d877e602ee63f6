// The orchestrator's event log: everything that happened to rollouts (published,
// wave opened or passed, paused, resumed, advanced, aborted, completed) and what
// hosts refused, in the database.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/timestamp.hpp"
#include "orchestrator/sqlite.hpp"

namespace patchwave::orchestrator {

/// Event kinds, as stored and sent to hooks.
namespace event_kind {
inline constexpr std::string_view published = "published";        ///< a manifest version went out
inline constexpr std::string_view wave_opened = "wave-opened";     ///< by advance (auto or operator) or at publication (wave 1)
inline constexpr std::string_view wave_passed = "wave-passed";     ///< its success threshold met
inline constexpr std::string_view auto_paused = "auto-paused";     ///< failure threshold crossed
inline constexpr std::string_view paused = "paused";               ///< by an operator
inline constexpr std::string_view resumed = "resumed";
inline constexpr std::string_view advanced = "advanced";           ///< by an operator (or auto after soak: actor "patchwave serve (auto)")
inline constexpr std::string_view aborted = "aborted";
inline constexpr std::string_view completed = "completed";
inline constexpr std::string_view expired = "expired";
inline constexpr std::string_view refused = "refused";             ///< a host reported a record or bundle it refused (actor: the host)
}  // namespace event_kind

struct Event {
    std::int64_t id = 0;  ///< assigned by append_event (rising)
    Timestamp time{};
    std::string kind;        ///< one of event_kind
    std::string rollout_id;
    std::optional<std::uint32_t> wave;  ///< index (0 = first) when the event is about a wave
    std::string actor;       ///< operator name, or "patchwave serve (auto)"
    std::string reason;
    nlohmann::json details = nlohmann::json::object();  ///< counts, versions, ...
    std::optional<std::string> wave_name = std::nullopt;  ///< the wave's name in the manifest, when known (last: added later)

    /// {"id","time","kind","rollout_id","wave"(1-based or null),"wave_name"?,"actor","reason","details"}
    nlohmann::json to_json() const;
};

/// Creates the `events` table and its index when missing (CREATE ... IF NOT EXISTS, so cheap and
/// idempotent); append_event and list_events call it, so schema migrations need not know the table.
Status ensure_event_tables(Database& db);

/// Appends (one INSERT: its own transaction, or part of the caller's when one is open) and returns
/// the event with its id. Errc::invalid_argument for an empty kind or details that are not an object.
Result<Event> append_event(Database& db, Event event);
/// Events after `after_id`, oldest first, at most `limit`; optionally of one rollout.
Result<std::vector<Event>> list_events(Database& db, std::int64_t after_id = 0, std::size_t limit = 1000,
                                       std::optional<std::string> rollout_id = std::nullopt);

}  // namespace patchwave::orchestrator
