#include "orchestrator/serve_metrics.hpp"

#include <algorithm>

namespace patchwave::orchestrator {
namespace {

using rollout::RolloutPhase;

constexpr RolloutPhase kPhases[] = {RolloutPhase::waiting, RolloutPhase::running,   RolloutPhase::paused,
                                    RolloutPhase::aborted, RolloutPhase::completed, RolloutPhase::expired};

bool finished(RolloutPhase phase) {
    return phase == RolloutPhase::aborted || phase == RolloutPhase::completed || phase == RolloutPhase::expired;
}

double number(std::size_t value) {
    return static_cast<double>(value);
}

}  // namespace

void write_report_metrics(MetricsText& text, const FleetReport& report, Timestamp now, Duration silence) {
    text.family("patchwave_rollouts", MetricType::gauge, "Published rollouts by phase.");
    for (const RolloutPhase phase : kPhases) {
        const auto count = std::count_if(report.rollouts.begin(), report.rollouts.end(),
                                         [&](const EvaluatedRollout& item) { return item.state.phase == phase; });
        text.sample(static_cast<double>(count), {{"phase", std::string(rollout::to_string(phase))}});
    }

    // Per-rollout series: every unfinished rollout and the newest finished ones.
    std::vector<const EvaluatedRollout*> shown;
    std::size_t finished_shown = 0;
    for (const auto& item : report.rollouts) {
        if (finished(item.state.phase)) {
            if (finished_shown >= kMetricsFinishedRollouts) continue;
            ++finished_shown;
        }
        shown.push_back(&item);
    }
    text.family("patchwave_rollout_phase", MetricType::gauge,
                "1 for the phase each rollout is in (active ones and the newest finished ones).");
    for (const auto* item : shown) {
        text.sample(1, {{"rollout", item->stored.manifest.rollout_id},
                        {"phase", std::string(rollout::to_string(item->state.phase))}});
    }
    text.family("patchwave_rollout_open_wave", MetricType::gauge, "The highest open wave of each rollout (1 = first).");
    for (const auto* item : shown)
        text.sample(number(item->state.open_wave + 1), {{"rollout", item->stored.manifest.rollout_id}});
    text.family("patchwave_waves", MetricType::gauge,
                "Waves of each rollout by state: pending (not open), open (open, not passed), passed.");
    for (const auto* item : shown) {
        std::size_t pending = 0, open = 0, passed = 0;
        for (const auto& wave : item->state.waves) {
            if (!wave.open) {
                ++pending;
            } else if (wave.passed) {
                ++passed;
            } else {
                ++open;
            }
        }
        const std::string& id = item->stored.manifest.rollout_id;
        text.sample(number(pending), {{"rollout", id}, {"state", "pending"}});
        text.sample(number(open), {{"rollout", id}, {"state", "open"}});
        text.sample(number(passed), {{"rollout", id}, {"state", "passed"}});
    }
    text.family("patchwave_wave_hosts_targeted", MetricType::gauge, "Hosts each wave targets.");
    for (const auto* item : shown) {
        for (const auto& wave : item->state.waves)
            text.sample(number(wave.targeted), {{"rollout", item->stored.manifest.rollout_id}, {"wave", wave.name}});
    }
    text.family("patchwave_wave_hosts", MetricType::gauge,
                "Hosts of each wave by state, as `patchwave status` counts them (a silent host counts only as "
                "silent).");
    for (const auto* item : shown) {
        for (const auto& wave : item->state.waves) {
            const MetricLabels base{{"rollout", item->stored.manifest.rollout_id}, {"wave", wave.name}};
            for (const auto& [state, name] : kStatusColumns) {
                MetricLabels labels = base;
                labels.emplace_back("state", name);
                text.sample(number(wave.counts[state]), labels);
            }
            MetricLabels labels = base;
            labels.emplace_back("state", "silent");
            text.sample(number(wave.counts.silent), labels);
        }
    }

    std::size_t silent = 0, reboots = 0, drift = 0, drifted_hosts = 0, past_deadline = 0;
    std::optional<Duration> oldest_reboot;
    for (const auto& host : report.hosts) {
        if (rollout::is_silent(host, now, silence)) ++silent;
        if (!host.status) continue;
        const auto& reboot = host.status->reboot;
        if (reboot.pending) {
            ++reboots;
            if (reboot.pending_since) {
                const Duration age = std::max(Duration::zero(), now - *reboot.pending_since);
                oldest_reboot = std::max(oldest_reboot.value_or(Duration::zero()), age);
            }
            if (reboot.deadline && now > *reboot.deadline) ++past_deadline;
        }
        drift += host.status->drift.size();
        if (!host.status->drift.empty()) ++drifted_hosts;
    }
    text.family("patchwave_hosts_enrolled", MetricType::gauge, "Hosts with a certificate from this orchestrator.");
    text.sample(number(report.hosts.size()));
    text.family("patchwave_hosts_silent", MetricType::gauge,
                "Enrolled hosts not heard from within serve's silence_timeout (or never).");
    text.sample(number(silent));
    text.family("patchwave_reboots_pending", MetricType::gauge,
                "Hosts whose latest status says a reboot is pending.");
    text.sample(number(reboots));
    text.family("patchwave_reboots_past_deadline", MetricType::gauge,
                "Hosts whose pending reboot is past the rollout's reboot deadline.");
    text.sample(number(past_deadline));
    text.family("patchwave_reboot_pending_oldest_seconds", MetricType::gauge,
                "Age of the oldest pending reboot in seconds (0 when none is pending).");
    text.sample(static_cast<double>(oldest_reboot.value_or(Duration::zero()).count()));
    text.family("patchwave_drift_findings", MetricType::gauge,
                "Drift findings (a tracked path changed without an approved bundle) in hosts' latest status.");
    text.sample(number(drift));
    text.family("patchwave_hosts_with_drift", MetricType::gauge, "Hosts reporting at least one drift finding.");
    text.sample(number(drifted_hosts));
}

}  // namespace patchwave::orchestrator
