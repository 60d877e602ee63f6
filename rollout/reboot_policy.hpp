// Reboot policy: when a host with reboot-pending bundles reboots (now, at a
// window, at the deadline) and when its user may push the reboot back.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/duration.hpp"
#include "common/error.hpp"
#include "common/timestamp.hpp"
#include "rollout/ids.hpp"
#include "rollout/windows.hpp"

namespace patchwave::rollout {

/// How long one deferral lasts when the user does not say (`defer-reboot`
/// without `--for`).
inline constexpr Duration kDefaultDeferral = std::chrono::hours(1);

/// One bundle left reboot-pending, with the limits of the manifest it came in.
struct PendingReboot {
    BundleId bundle{};
    Timestamp pending_since{};        ///< when its install finished
    Duration reboot_deadline{};       ///< manifest reboot_deadline: reboot by pending_since + this
    std::uint32_t max_deferrals = 0;  ///< manifest max_reboot_deferrals
};

struct RebootInput {
    std::vector<PendingReboot> pending;  ///< empty: no reboot needed
    std::vector<Window> windows;         ///< reboot windows; empty = any time
    UtcOffset offset{};
    std::uint32_t deferrals_used = 0;
    /// A deferral in force: no reboot before this time (unless the deadline).
    std::optional<Timestamp> deferred_until;
};

enum class RebootAction {
    none,        ///< nothing pending
    reboot_now,  ///< reboot at once
    wait,        ///< reboot at `at` (a window opening, a deferral's end or the deadline)
    ask_user,    ///< it is time, but the user may still defer: ask, reboot if not deferred
};
/// "none", "reboot-now", "wait", "ask-user".
std::string_view to_string(RebootAction action);

struct RebootDecision {
    RebootAction action = RebootAction::none;
    /// reboot_now, ask_user: now; wait: when to reboot (re-decide then).
    std::optional<Timestamp> at;
    std::optional<Timestamp> deadline;  ///< the earliest pending deadline
    std::uint32_t deferrals_left = 0;
    std::size_t bundles = 0;  ///< pending bundles this one reboot serves
    std::string reason;
};

/// The earliest pending_since + reboot_deadline; nullopt when nothing is pending.
std::optional<Timestamp> reboot_deadline(std::span<const PendingReboot> pending);

/// The smallest max_deferrals among the pending bundles (the strictest
/// manifest wins); 0 when nothing is pending.
std::uint32_t max_deferrals(std::span<const PendingReboot> pending);

/// The decision table (first matching row wins):
///   nothing pending                               => none
///   now >= deadline                               => reboot_now (window and deferrals ignored)
///   deferred_until > now                          => wait until min(deferred_until, deadline)
///   outside the reboot windows                    => wait until min(next opening, deadline)
///   inside, deferrals_used < max deferrals        => ask_user
///   inside, no deferral left                      => reboot_now
RebootDecision decide_reboot(const RebootInput& input, Timestamp now);

/// When the host is expected to reboot, for operators: the first window
/// opening at or after max(now, deferred_until), or the deadline if earlier;
/// now once the deadline has passed. nullopt when nothing is pending.
std::optional<Timestamp> effective_reboot_time(const RebootInput& input, Timestamp now);

/// The time a deferral of `defer_for` pushes the reboot to: now + defer_for,
/// clamped to the deadline. Errc::state when nothing is pending, no deferral
/// is left or the deadline has passed; Errc::invalid_argument for a duration
/// that is not positive.
Result<Timestamp> defer_reboot(const RebootInput& input, Timestamp now,
                               Duration defer_for = kDefaultDeferral);

}  // namespace patchwave::rollout
