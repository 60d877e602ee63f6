// What `patchwave serve` has announced per rollout (published versions, waves
// opened and passed, control records, completion), rebuilt from the event log
// at start so a restart never repeats an event; and recording a new one.
#pragma once

#include <map>
#include <set>
#include <string>

#include "common/error.hpp"
#include "orchestrator/event_log.hpp"
#include "orchestrator/hooks.hpp"
#include "orchestrator/sqlite.hpp"

namespace patchwave::orchestrator {

/// The operator name on records the daemon signs itself, and the actor of its events.
inline constexpr std::string_view kServeActor = "patchwave serve (auto)";

/// Keys of announced things, per rollout: "published/v<version>",
/// "wave-opened/<index>", "wave-passed/<index>", "completed", "expired",
/// "refused/<agent hex>/<subject>/<reason>" (under the rollout the subject
/// names, else ""); control records by sequence (the highest one announced).
class EventRecorder {
public:
    /// `hooks` may be null (no hooks configured); it must outlive the recorder.
    explicit EventRecorder(HookRunner* hooks) : hooks_(hooks) {}

    /// Reads the whole event log and remembers what it announced.
    Status load(Database& db);

    bool announced(const std::string& rollout_id, const std::string& key) const;
    /// The highest control sequence announced for the rollout (0 = none).
    std::uint64_t control_sequence(const std::string& rollout_id) const;

    /// Appends `event` to the log, hands it to the hooks and remembers `key`
    /// (and details.sequence for control events).
    Status record(Database& db, Event event, const std::string& key);

    /// The key an event from the log stands for (empty when none: not ours).
    static std::string key_of(const Event& event);
    /// The key of a host's refusal: one event per agent, subject and reason.
    static std::string refused_key(std::string_view agent_hex, std::string_view subject, std::string_view reason);

private:
    void remember(const Event& event, const std::string& key);

    HookRunner* hooks_;
    std::map<std::string, std::set<std::string>> announced_;
    std::map<std::string, std::uint64_t> control_sequences_;
};

}  // namespace patchwave::orchestrator
