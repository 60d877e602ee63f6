#include "rollout/reboot_policy.hpp"

#include <algorithm>

namespace patchwave::rollout {
namespace {

std::uint32_t deferrals_left(const RebootInput& input) {
    const std::uint32_t allowed = max_deferrals(input.pending);
    return input.deferrals_used >= allowed ? 0 : allowed - input.deferrals_used;
}

std::string bundles_text(std::size_t count) {
    return std::to_string(count) + (count == 1 ? " pending bundle" : " pending bundles");
}

}  // namespace

std::string_view to_string(RebootAction action) {
    switch (action) {
        case RebootAction::none:
            return "none";
        case RebootAction::reboot_now:
            return "reboot-now";
        case RebootAction::wait:
            return "wait";
        case RebootAction::ask_user:
            return "ask-user";
    }
    return "unknown";
}

std::optional<Timestamp> reboot_deadline(std::span<const PendingReboot> pending) {
    std::optional<Timestamp> earliest;
    for (const PendingReboot& entry : pending) {
        const Timestamp deadline = entry.pending_since + entry.reboot_deadline;
        if (!earliest || deadline < *earliest)
            earliest = deadline;
    }
    return earliest;
}

std::uint32_t max_deferrals(std::span<const PendingReboot> pending) {
    if (pending.empty())
        return 0;
    std::uint32_t smallest = pending.front().max_deferrals;
    for (const PendingReboot& entry : pending)
        smallest = std::min(smallest, entry.max_deferrals);
    return smallest;
}

RebootDecision decide_reboot(const RebootInput& input, Timestamp now) {
    RebootDecision decision;
    if (input.pending.empty()) {
        decision.reason = "no reboot pending";
        return decision;
    }
    const Timestamp deadline = *reboot_deadline(input.pending);
    decision.deadline = deadline;
    decision.deferrals_left = deferrals_left(input);
    decision.bundles = input.pending.size();
    const std::string serving = " (one reboot for " + bundles_text(input.pending.size()) + ")";

    if (now >= deadline) {
        decision.action = RebootAction::reboot_now;
        decision.at = now;
        decision.reason = "reboot deadline " + format_timestamp(deadline) + " reached" + serving;
        return decision;
    }
    if (input.deferred_until && *input.deferred_until > now) {
        decision.action = RebootAction::wait;
        decision.at = std::min(*input.deferred_until, deadline);
        decision.reason = "deferred by the user until " + format_timestamp(*decision.at) + serving;
        return decision;
    }
    if (!is_inside(input.windows, input.offset, now)) {
        const auto opening = next_opening(input.windows, input.offset, now);
        decision.action = RebootAction::wait;
        decision.at = opening ? std::min(*opening, deadline) : deadline;
        decision.reason = (decision.at == deadline ? "waiting for the reboot deadline "
                                                   : "waiting for the reboot window at ")
                          + format_timestamp(*decision.at) + serving;
        return decision;
    }
    decision.at = now;
    if (decision.deferrals_left > 0) {
        decision.action = RebootAction::ask_user;
        decision.reason = "inside the reboot window; " + std::to_string(decision.deferrals_left)
                          + " deferral(s) left" + serving;
    } else {
        decision.action = RebootAction::reboot_now;
        decision.reason = "inside the reboot window, no deferral left" + serving;
    }
    return decision;
}

std::optional<Timestamp> effective_reboot_time(const RebootInput& input, Timestamp now) {
    if (input.pending.empty())
        return std::nullopt;
    const Timestamp deadline = *reboot_deadline(input.pending);
    if (now >= deadline)
        return now;
    const Timestamp from = input.deferred_until ? std::max(now, *input.deferred_until) : now;
    const auto opening = next_opening(input.windows, input.offset, from);
    return opening ? std::min(*opening, deadline) : deadline;
}

Result<Timestamp> defer_reboot(const RebootInput& input, Timestamp now, Duration defer_for) {
    if (defer_for <= Duration::zero()) {
        return fail(Errc::invalid_argument,
                    "a deferral must be longer than zero, not " + format_duration(defer_for));
    }
    if (input.pending.empty())
        return fail(Errc::state, "no reboot is pending");
    const Timestamp deadline = *reboot_deadline(input.pending);
    if (now >= deadline) {
        return fail(Errc::state,
                    "the reboot deadline " + format_timestamp(deadline) + " has passed");
    }
    const std::uint32_t allowed = max_deferrals(input.pending);
    if (deferrals_left(input) == 0) {
        return fail(Errc::state, "no deferral left (" + std::to_string(input.deferrals_used)
                                     + " of " + std::to_string(allowed) + " used)");
    }
    return std::min(now + defer_for, deadline);
}

}  // namespace patchwave::rollout
