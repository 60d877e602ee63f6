#include "agent/reboot_manager.hpp"

#include <algorithm>

namespace patchwave::agent {
namespace {

constexpr RebootLimits kDefaultLimits{std::chrono::hours(48), 3};

}  // namespace

rollout::RebootInput reboot_input(const JournalState& journal, const RebootLimitsOf& limits,
                                  const RebootSettings& settings) {
    rollout::RebootInput input;
    for (const auto& rollout : journal.rollouts) {
        const RebootLimits rollout_limits = limits ? limits(rollout.rollout_id).value_or(kDefaultLimits) : kDefaultLimits;
        for (const auto& bundle : rollout.bundles) {
            if (bundle.state != rollout::HostState::reboot_pending) continue;
            input.pending.push_back(
                rollout::PendingReboot{bundle.id, bundle.since, rollout_limits.deadline, rollout_limits.max_deferrals});
        }
    }
    input.windows = settings.windows;
    input.offset = settings.offset;
    input.deferrals_used = journal.reboot.deferrals_used;
    input.deferred_until = journal.reboot.deferred_until;
    return input;
}

RebootPlan plan_reboot(const JournalState& journal, const RebootLimitsOf& limits, const RebootSettings& settings,
                       bool batch_in_progress, Timestamp now) {
    RebootPlan plan;
    const rollout::RebootInput input = reboot_input(journal, limits, settings);
    plan.decision = rollout::decide_reboot(input, now);
    const auto& decision = plan.decision;
    if (decision.action == rollout::RebootAction::none) {
        plan.reason = decision.reason;
        return plan;
    }
    const bool past_deadline = decision.deadline && now >= *decision.deadline;
    if (batch_in_progress && !past_deadline) {
        plan.step = RebootStep::wait;
        plan.at = decision.deadline;
        plan.reason = "waiting for the rest of the batch, so one reboot serves every bundle";
        return plan;
    }
    // A reboot command that returned while the host stayed up: try again later,
    // not in a tight loop (the status shows the pending reboot and its age).
    if (journal.reboot.requested && journal.reboot.requested_at && now < *journal.reboot.requested_at + settings.retry) {
        plan.step = RebootStep::wait;
        plan.at = *journal.reboot.requested_at + settings.retry;
        plan.reason = "the reboot command ran at " + format_timestamp(*journal.reboot.requested_at) +
                      " but the host has not rebooted; trying again at " + format_timestamp(*plan.at);
        return plan;
    }
    switch (decision.action) {
    case rollout::RebootAction::none:
        break;
    case rollout::RebootAction::wait:
        plan.step = RebootStep::wait;
        plan.at = decision.at;
        plan.reason = decision.reason;
        break;
    case rollout::RebootAction::reboot_now:
        plan.step = RebootStep::reboot;
        plan.reason = decision.reason;
        break;
    case rollout::RebootAction::ask_user: {
        if (settings.notice <= Duration::zero()) {
            plan.step = RebootStep::reboot;
            plan.reason = decision.reason;
            break;
        }
        // A notice given in an earlier window (which closed before the notice
        // ran out) does not count: the user gets a fresh one in this window.
        std::optional<Timestamp> notice_since = journal.reboot.notice_since;
        if (notice_since && !settings.windows.empty()) {  // an always-open schedule has no "earlier window"
            auto period = rollout::current_or_next_period(settings.windows, settings.offset, now);
            if (period && period->opens <= now && *notice_since < period->opens) notice_since.reset();
        }
        if (!notice_since) {
            plan.step = RebootStep::notify;
            plan.at = now + settings.notice;
        } else if (now >= *notice_since + settings.notice) {
            plan.step = RebootStep::reboot;
        } else {
            plan.step = RebootStep::wait;
            plan.at = *notice_since + settings.notice;
        }
        if (plan.at && decision.deadline) plan.at = std::min(*plan.at, *decision.deadline);
        plan.reason = decision.reason;
        break;
    }
    }
    return plan;
}

Result<Timestamp> defer_reboot(JournalState& journal, const RebootLimitsOf& limits, const RebootSettings& settings,
                               Timestamp now, Duration defer_for) {
    auto until = rollout::defer_reboot(reboot_input(journal, limits, settings), now, defer_for);
    if (!until) return std::unexpected(until.error());
    journal.reboot.deferrals_used += 1;
    journal.reboot.deferred_until = *until;
    journal.reboot.notice_since.reset();
    return *until;
}

rollout::RebootStatus reboot_status(const JournalState& journal, const RebootLimitsOf& limits,
                                    const RebootSettings& settings, Timestamp now) {
    rollout::RebootStatus status;
    const rollout::RebootInput input = reboot_input(journal, limits, settings);
    status.deferrals_used = journal.reboot.deferrals_used;
    if (input.pending.empty()) return status;
    status.pending = true;
    for (const auto& pending : input.pending)
        if (!status.pending_since || pending.pending_since < *status.pending_since)
            status.pending_since = pending.pending_since;
    status.deadline = rollout::reboot_deadline(input.pending);
    status.scheduled_for = rollout::effective_reboot_time(input, now);
    return status;
}

}  // namespace patchwave::agent
