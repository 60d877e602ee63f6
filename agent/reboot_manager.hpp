// When this host reboots: one coalesced reboot for every reboot-pending bundle,
// inside a reboot window or at the deadline, after a notice the user may defer.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agent/journal.hpp"
#include "rollout/reboot_policy.hpp"
#include "rollout/windows.hpp"

namespace patchwave::agent {

/// The manifest limits a reboot-pending bundle came with.
struct RebootLimits {
    Duration deadline{};
    std::uint32_t max_deferrals = 0;
};
/// Looks up the limits of a rollout's manifest; nullopt when it is unknown
/// (the defaults of rollout.toml then apply: 48 h, 3 deferrals).
using RebootLimitsOf = std::function<std::optional<RebootLimits>(std::string_view rollout_id)>;

struct RebootSettings {
    std::vector<rollout::Window> windows;  ///< empty = any time
    rollout::UtcOffset offset{};
    Duration notice{};  ///< how long the user may still defer once the reboot is due
    /// A reboot command that returned without the host going down is tried again after this.
    Duration retry = std::chrono::minutes(10);
};

/// The policy's view of the journal.
rollout::RebootInput reboot_input(const JournalState& journal, const RebootLimitsOf& limits,
                                  const RebootSettings& settings);

enum class RebootStep {
    none,    ///< nothing pending
    wait,    ///< re-plan at `at`
    notify,  ///< the reboot is due: record the notice time, tell the user, re-plan at `at`
    reboot,  ///< run the reboot command now
};

struct RebootPlan {
    RebootStep step = RebootStep::none;
    std::optional<Timestamp> at;
    std::string reason;
    rollout::RebootDecision decision;  ///< the policy's answer, for the status record
};

/// `batch_in_progress`: some bundle of an active rollout is still being
/// fetched or applied; the reboot waits for it (one reboot for the batch)
/// unless the deadline has come.
RebootPlan plan_reboot(const JournalState& journal, const RebootLimitsOf& limits, const RebootSettings& settings,
                       bool batch_in_progress, Timestamp now);

/// Applies a user's deferral to `journal` (deferrals_used + 1, deferred_until,
/// notice reset). Errc::state when nothing is pending, no deferral is left or
/// the deadline has passed (the message says which).
Result<Timestamp> defer_reboot(JournalState& journal, const RebootLimitsOf& limits, const RebootSettings& settings,
                               Timestamp now, Duration defer_for);

/// The status record's reboot part.
rollout::RebootStatus reboot_status(const JournalState& journal, const RebootLimitsOf& limits,
                                    const RebootSettings& settings, Timestamp now);

}  // namespace patchwave::agent
