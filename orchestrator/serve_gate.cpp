// ServeDaemon: the gate over every rollout. Announces passed waves, signs the
// advance when a wave passed and soaked, the pause when failures cross a
// threshold, and records completion and expiry; seeds what is still active.
#include <spdlog/spdlog.h>

#include "orchestrator/fleet_view.hpp"
#include "orchestrator/rollout_control.hpp"
#include "orchestrator/rollout_store.hpp"
#include "orchestrator/serve_daemon.hpp"

namespace patchwave::orchestrator {
namespace {

using rollout::GateActionKind;
using rollout::RolloutPhase;

nlohmann::json wave_counts(const rollout::WaveProgress& wave) {
    return {{"targeted", wave.targeted},
            {"installed", wave.counts[rollout::HostState::installed]},
            {"failed", wave.counts[rollout::HostState::failed]},
            {"silent", wave.counts.silent},
            {"installed_needed", wave.installed_needed}};
}

}  // namespace

Status ServeDaemon::run_gate(Home& home) {
    auto hosts = load_host_views(home.db());
    if (!hosts) return std::unexpected(hosts.error());
    auto rollouts = list_rollouts(home.db());
    if (!rollouts) return std::unexpected(rollouts.error());
    std::optional<Timestamp> recheck;
    for (auto it = rollouts->rbegin(); it != rollouts->rend(); ++it) {
        if (auto ok = gate_rollout(home, it->manifest, *hosts, recheck); !ok) {
            spdlog::error("rollout {}: {}", it->manifest.rollout_id, ok.error().message());
        }
    }
    // A soak ending or a not_before passing changes the answer with time
    // alone: come back then if that is sooner than the regular gate run.
    if (recheck) {
        const auto wait = *recheck - now();
        if (wait < options_.config.gate_interval) {
            want_gate_ = true;
            request_tick(
                std::max(std::chrono::milliseconds(0), std::chrono::duration_cast<std::chrono::milliseconds>(wait)));
        }
    }
    return {};
}

Status ServeDaemon::gate_rollout(Home& home, const rollout::Manifest& manifest,
                                 const std::vector<rollout::HostView>& hosts, std::optional<Timestamp>& recheck) {
    const std::string& id = manifest.rollout_id;
    RolloutMemory& memory = rollouts_[id];
    // Each pass may sign one record; an empty next wave can pass at once, so
    // a few passes may follow each other, at most one per wave and a pause.
    for (std::size_t pass = 0; pass < manifest.waves.size() + 2; ++pass) {
        auto control = latest_control(home.db(), id);
        if (!control) return std::unexpected(control.error());
        std::optional<rollout::ControlRecord> record;
        if (*control) record = (*control)->record;
        const Timestamp at = now();
        const rollout::RolloutState state =
            rollout::evaluate_gate(manifest, record, hosts, at, options_.config.silence_timeout);
        memory.phase = state.phase;
        memory.open_wave = state.open_wave;
        const bool active = state.phase == RolloutPhase::running || state.phase == RolloutPhase::waiting
                            || state.phase == RolloutPhase::paused;
        if (active) seed_bundles(home, manifest);
        if (state.recheck_at && (!recheck || *state.recheck_at < *recheck)) recheck = state.recheck_at;

        if (state.phase != RolloutPhase::aborted && state.phase != RolloutPhase::expired) {
            for (std::size_t wave = 0; wave <= state.open_wave && wave < state.waves.size(); ++wave) {
                const auto& progress = state.waves[wave];
                const std::string key = "wave-passed/" + std::to_string(wave);
                if (!progress.passed || events_->announced(id, key)) continue;
                Event event;
                event.time = at;
                event.kind = event_kind::wave_passed;
                event.rollout_id = id;
                event.wave = static_cast<std::uint32_t>(wave);
                event.wave_name = progress.name;
                event.actor = std::string(kServeActor);
                event.reason = std::to_string(progress.counts[rollout::HostState::installed]) + " of "
                               + std::to_string(progress.targeted) + " installed, "
                               + std::to_string(progress.installed_needed) + " needed";
                event.details = wave_counts(progress);
                if (progress.soaked_at) event.details["soaked_at"] = format_timestamp(*progress.soaked_at);
                if (auto ok = events_->record(home.db(), std::move(event), key); !ok) return ok;
            }
        }
        if (state.phase == RolloutPhase::expired && !events_->announced(id, "expired")) {
            Event event;
            event.time = at;
            event.kind = event_kind::expired;
            event.rollout_id = id;
            event.actor = std::string(kServeActor);
            event.reason = state.reason;
            if (auto ok = events_->record(home.db(), std::move(event), "expired"); !ok) return ok;
        }

        ControlRequest request;
        request.rollout_id = id;
        request.operator_name = std::string(kServeActor);
        request.reason = state.action.reason;
        request.now = at;
        switch (state.action.kind) {
            case GateActionKind::none:
                return {};
            case GateActionKind::complete: {
                if (events_->announced(id, "completed")) return {};
                Event event;
                event.time = at;
                event.kind = event_kind::completed;
                event.rollout_id = id;
                event.actor = std::string(kServeActor);
                event.reason = state.action.reason;
                nlohmann::json waves = nlohmann::json::array();
                for (const auto& wave : state.waves)
                    waves.push_back(wave_counts(wave));
                event.details = {{"waves", waves}};
                return events_->record(home.db(), std::move(event), "completed");
            }
            case GateActionKind::advance:
                request.action = rollout::ControlAction::advance;
                request.to_wave = std::to_string(state.action.to_wave + 1);
                break;
            case GateActionKind::auto_pause:
                request.action = rollout::ControlAction::pause;
                break;
        }
        auto issued = issue_control(home, request);
        if (!issued)
            return std::unexpected(issued.error().with_context("signing the gate's "
                                                               + std::string(rollout::to_string(state.action.kind))));
        spdlog::info("rollout {}: signed {} #{}: {}", id, rollout::to_string(issued->record.action),
                     issued->record.sequence, state.action.reason);
        if (auto ok = announce_controls(home, id, manifest); !ok) return ok;
    }
    return {};
}

}  // namespace patchwave::orchestrator
