// The daemon's side of reboots: confirming one by the boot id at start, and
// running the configured reboot command when the reboot manager says so.
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "agent/agent_daemon.hpp"

namespace patchwave::agent {

RebootLimitsOf AgentDaemon::limits_of() const {
    return [this](std::string_view rollout_id) -> std::optional<RebootLimits> {
        auto manifest = manifests_.find(std::string(rollout_id));
        if (manifest == manifests_.end()) return std::nullopt;
        return RebootLimits{manifest->second.reboot_deadline, manifest->second.max_reboot_deferrals};
    };
}

RebootSettings AgentDaemon::reboot_settings() const {
    RebootSettings settings;
    settings.windows = options_.config.reboot;
    settings.offset = options_.config.utc_offset;
    settings.notice = options_.config.reboot_notice;
    return settings;
}

void AgentDaemon::check_boot() {
    JournalState next = journal_->state();
    bool any_pending = false;
    for (auto& rollout : next.rollouts) {
        for (auto& bundle : rollout.bundles) {
            if (bundle.state != rollout::HostState::reboot_pending) continue;
            if (bundle.boot_id == boot_id_) {
                any_pending = true;
                continue;
            }
            // Only a changed boot id proves the reboot the bundle needed.
            spdlog::info("bundle {}: rebooted (boot id {} -> {}), verifying again", rollout::short_hex(bundle.id),
                         bundle.boot_id, boot_id_);
            bundle.state = rollout::HostState::verifying;
            bundle.since = now();
            bundle.step = std::string(step::post_reboot_verify);
            bundle.step_running = false;
        }
    }
    RebootJournal& reboot = next.reboot;
    if (reboot.requested) {
        if (reboot.boot_id_before != boot_id_)
            spdlog::info("reboot confirmed: boot id {} -> {}", reboot.boot_id_before, boot_id_);
        else
            spdlog::warn("the reboot requested at {} did not happen (boot id unchanged); it will be planned again",
                         reboot.requested_at ? format_timestamp(*reboot.requested_at) : "?");
        reboot.requested = false;
        reboot.requested_at.reset();
    }
    if (!any_pending) {
        reboot = RebootJournal{};
    } else if (reboot.boot_id_before != boot_id_ && !reboot.boot_id_before.empty()) {
        reboot = RebootJournal{};
    }
    commit(std::move(next), "boot-check");
}

void AgentDaemon::plan_and_maybe_reboot(JournalState& next) {
    if (reboot_running_ || worker_->busy()) return;
    const Timestamp time = now();
    const RebootPlan plan = plan_reboot(next, limits_of(), reboot_settings(), batch_active_, time);
    reboot_reason_ = plan.reason;
    switch (plan.step) {
    case RebootStep::none:
        if (next.reboot != RebootJournal{} && !next.reboot.requested) next.reboot = RebootJournal{};
        return;
    case RebootStep::wait:
        schedule_wake(plan.at);
        return;
    case RebootStep::notify:
        next.reboot.notice_since = time;
        spdlog::warn("a reboot is due for {} bundle(s); rebooting at {} unless deferred "
                     "(patchwave-agent defer-reboot, {} deferral(s) left)",
                     plan.decision.bundles, plan.at ? format_timestamp(*plan.at) : "now", plan.decision.deferrals_left);
        schedule_wake(plan.at);
        return;
    case RebootStep::reboot:
        break;
    }
    next.reboot.requested = true;
    next.reboot.boot_id_before = boot_id_;
    next.reboot.requested_at = time;
    next.reboot.notice_since.reset();
    if (!commit(next, "reboot")) return;
    spdlog::warn("rebooting for {} bundle(s): {} ({})", plan.decision.bundles, options_.config.reboot_command,
                 plan.reason);
    CommandRequest request;
    request.step = std::string(step::reboot);
    request.command = rollout::BundleCommand{options_.config.reboot_command, std::chrono::minutes(5)};
    request.working_directory = state_.root;
    request.environment = {{"PATCHWAVE_ROOT", options_.config.system_root},
                           {"PATCHWAVE_AGENT_PID", std::to_string(::getpid())}};
    request.log_file = state_.logs() / "reboot.log";
    reboot_running_ = true;
    std::weak_ptr<bool> alive = alive_;
    auto started = worker_->run(std::move(request), [this, alive](Result<CommandOutcome> outcome) {
        if (alive.expired()) return;
        reboot_running_ = false;
        if (!outcome || !outcome->succeeded()) {
            spdlog::error("the reboot command failed: {}; trying again later",
                          outcome ? outcome->describe() : outcome.error().message());
        } else {
            spdlog::info("the reboot command returned; waiting for the host to go down");
        }
        request_reconcile();
    });
    if (!started) {
        reboot_running_ = false;
        spdlog::error("cannot run the reboot command: {}", started.error().message());
    }
    schedule_wake(time + reboot_settings().retry);
}

std::string AgentDaemon::defer(Duration defer_for) {
    JournalState next = journal_->state();
    auto until = defer_reboot(next, limits_of(), reboot_settings(), now(), defer_for);
    if (!until) return until.error().message();
    if (!commit(std::move(next), "defer")) return "cannot write the journal";
    spdlog::info("reboot deferred by the local user until {}", format_timestamp(*until));
    request_reconcile();
    return {};
}

}  // namespace patchwave::agent
