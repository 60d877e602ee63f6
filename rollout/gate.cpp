#include "rollout/gate.hpp"

#include <algorithm>

#include "rollout/wave_assignment.hpp"

namespace patchwave::rollout {
namespace {

std::string quoted(std::string_view text) {
    return "\"" + std::string(text) + "\"";
}

// When the wave began, as far as the inputs tell: the rollout's start for
// wave 0; for the highest open wave the latest control record's time (it is
// never earlier than the advance that opened the wave, so a soak counted from
// it can only be longer, never shorter); unknown otherwise.
std::optional<Timestamp> opened_at(const Manifest& manifest,
                                   const std::optional<ControlRecord>& control, std::size_t index,
                                   std::size_t open_wave) {
    if (index == 0)
        return manifest.not_before.value_or(manifest.published);
    if (index == open_wave && control)
        return control->time;
    return std::nullopt;
}

struct WaveTally {
    std::vector<Timestamp> installed_since;  // non-silent installed hosts
};

// The latest resume/advance record's time: failures before it were seen by
// the operator who issued it; only newer ones (same second included) count.
std::optional<Timestamp> acknowledged_at(const std::optional<ControlRecord>& control) {
    if (control
        && (control->action == ControlAction::resume
            || control->action == ControlAction::advance)) {
        return control->time;
    }
    return std::nullopt;
}

// Assigns each host to its wave and counts it: targeted, by state (silent
// first), failures since the acknowledgement, installed times.
void count_hosts(const Manifest& manifest, std::span<const HostView> hosts, Timestamp now,
                 Duration silence_timeout, std::optional<Timestamp> acknowledged,
                 std::vector<WaveProgress>& waves, std::vector<WaveTally>& tallies) {
    for (const HostView& host : hosts) {
        const auto wave = assign_wave(manifest, host.agent, host.labels);
        if (!wave)
            continue;
        WaveProgress& progress = waves[*wave];
        ++progress.targeted;
        if (is_silent(host, now, silence_timeout)) {
            ++progress.counts.silent;
            continue;
        }
        const HostRolloutState host_state = aggregate_state(manifest, host);
        ++progress.counts[host_state.state];
        if (host_state.state == HostState::installed) {
            tallies[*wave].installed_since.push_back(host_state.since.value_or(now));
        } else if (host_state.state == HostState::failed) {
            if (!acknowledged || !host_state.since || *host_state.since >= *acknowledged) {
                ++progress.failed_since_ack;
            }
        }
    }
}

// passed, passed_at, soaked_at, soaked and failing of one wave (see gate.hpp).
void judge_wave(const Manifest& manifest, const std::optional<ControlRecord>& control,
                std::size_t index, std::size_t open_wave, Timestamp now, WaveTally& tally,
                WaveProgress& progress) {
    const WaveSpec& spec = manifest.waves[index];
    const std::size_t installed = progress.counts[HostState::installed];
    progress.installed_needed = installed_needed(spec.success_threshold, progress.targeted);
    progress.passed = spec.success_threshold.reached_by(installed, progress.targeted);
    progress.failing =
        progress.open
        && spec.failure_threshold.exceeded_by(progress.failed_since_ack, progress.targeted);
    if (!progress.passed)
        return;
    if (progress.installed_needed == 0) {
        progress.passed_at = opened_at(manifest, control, index, open_wave);
    } else {
        auto& times = tally.installed_since;
        const auto nth = times.begin() + static_cast<std::ptrdiff_t>(progress.installed_needed - 1);
        std::nth_element(times.begin(), nth, times.end());
        progress.passed_at = *nth;
    }
    if (progress.passed_at) {
        progress.soaked_at =
            *progress.passed_at + (manifest.emergency ? Duration::zero() : spec.soak);
        progress.soaked = now >= *progress.soaked_at;
    }
}

// "wave "canary": 2 of 50 hosts failed since T, above its 2% failure
// threshold" for every failing open wave, joined by "; "; empty when none.
std::string failure_summary(const Manifest& manifest, const RolloutState& state,
                            std::optional<Timestamp> acknowledged) {
    std::string failures;
    for (std::size_t i = 0; i <= state.open_wave; ++i) {
        const WaveProgress& progress = state.waves[i];
        if (!progress.failing)
            continue;
        if (!failures.empty())
            failures += "; ";
        failures += "wave " + quoted(progress.name) + ": "
                    + std::to_string(progress.failed_since_ack) + " of "
                    + std::to_string(progress.targeted) + " hosts failed";
        if (acknowledged)
            failures += " since " + format_timestamp(*acknowledged);
        failures += ", above its " + format_percent(manifest.waves[i].failure_threshold)
                    + " failure threshold";
    }
    return failures;
}

// Phase and action from the judged waves: the table in gate.hpp, top to bottom.
void decide(const Manifest& manifest, const std::optional<ControlRecord>& control, Timestamp now,
            std::optional<Timestamp> acknowledged, RolloutState& state) {
    if (control && control->aborted()) {
        state.phase = RolloutPhase::aborted;
        state.reason = control->reason;
        state.by = control->operator_name;
        return;
    }
    const bool finished = state.open_wave + 1 == state.waves.size() && state.waves[state.open_wave].passed;
    if (now >= manifest.expires && !finished) {
        // Agents refuse an expired manifest, so nothing more will install:
        // say so rather than show a rollout that looks alive.
        state.phase = RolloutPhase::expired;
        state.reason = "manifest expired at " + format_timestamp(manifest.expires) + " before the last wave passed";
        return;
    }
    if (control && control->paused()) {
        state.phase = RolloutPhase::paused;
        state.pause_cause = PauseCause::control_record;
        state.reason = control->reason;
        state.by = control->operator_name;
        return;
    }
    if (manifest.not_before && now < *manifest.not_before) {
        state.phase = RolloutPhase::waiting;
        state.reason = "not before " + format_timestamp(*manifest.not_before);
        state.recheck_at = manifest.not_before;
        return;
    }
    if (std::string failures = failure_summary(manifest, state, acknowledged); !failures.empty()) {
        state.phase = RolloutPhase::paused;
        state.pause_cause = PauseCause::failure_threshold;
        state.reason = failures;
        state.action = {GateActionKind::auto_pause, 0, std::move(failures)};
        return;
    }

    const WaveProgress& open = state.waves[state.open_wave];
    const std::string counts = std::to_string(open.counts[HostState::installed]) + " of "
                               + std::to_string(open.targeted) + " installed, "
                               + std::to_string(open.installed_needed) + " needed";
    if (state.open_wave + 1 == state.waves.size() && open.passed) {
        state.phase = RolloutPhase::completed;
        state.action = {GateActionKind::complete, 0,
                        "last wave " + quoted(open.name) + " passed (" + counts + ")"};
        return;
    }
    state.phase = RolloutPhase::running;
    if (open.passed && open.soaked) {
        const std::size_t next = state.open_wave + 1;
        std::string reason = "wave " + quoted(open.name) + " passed (" + counts + ")";
        if (*open.soaked_at != *open.passed_at) {
            reason += " and soaked until " + format_timestamp(*open.soaked_at);
        }
        state.action = {GateActionKind::advance, next,
                        reason + "; opening wave " + quoted(state.waves[next].name)};
    } else if (open.passed && open.soaked_at) {
        state.recheck_at = open.soaked_at;  // the soak ends: re-evaluate then
    }
    // Expiry changes the answer with time alone too.
    if (!state.recheck_at || manifest.expires < *state.recheck_at) state.recheck_at = manifest.expires;
}

}  // namespace

std::string_view to_string(RolloutPhase phase) {
    switch (phase) {
        case RolloutPhase::waiting:
            return "waiting";
        case RolloutPhase::running:
            return "running";
        case RolloutPhase::paused:
            return "paused";
        case RolloutPhase::aborted:
            return "aborted";
        case RolloutPhase::completed:
            return "completed";
        case RolloutPhase::expired:
            return "expired";
    }
    return "unknown";
}

std::string_view to_string(PauseCause cause) {
    switch (cause) {
        case PauseCause::none:
            return "none";
        case PauseCause::control_record:
            return "control-record";
        case PauseCause::failure_threshold:
            return "failure-threshold";
    }
    return "unknown";
}

std::string_view to_string(GateActionKind kind) {
    switch (kind) {
        case GateActionKind::none:
            return "none";
        case GateActionKind::advance:
            return "advance";
        case GateActionKind::auto_pause:
            return "auto-pause";
        case GateActionKind::complete:
            return "complete";
    }
    return "unknown";
}

std::size_t installed_needed(Percent success_threshold, std::size_t targeted) {
    const std::uint64_t scaled =
        static_cast<std::uint64_t>(success_threshold.basis_points) * targeted;
    return static_cast<std::size_t>((scaled + 9999) / 10000);
}

RolloutState evaluate_gate(const Manifest& manifest,
                           const std::optional<ControlRecord>& given_control,
                           std::span<const HostView> hosts, Timestamp now,
                           Duration silence_timeout) {
    // A record about another rollout says nothing about this one.
    const std::optional<ControlRecord> control =
        given_control && given_control->rollout_id == manifest.rollout_id ? given_control
                                                                          : std::nullopt;
    RolloutState state;
    state.rollout_id = manifest.rollout_id;
    if (manifest.waves.empty())
        return state;  // refused by the parsers; nothing to gate
    state.open_wave =
        control ? std::min<std::size_t>(control->open_wave, manifest.waves.size() - 1) : 0;
    const std::optional<Timestamp> acknowledged = acknowledged_at(control);

    state.waves.resize(manifest.waves.size());
    for (std::size_t i = 0; i < manifest.waves.size(); ++i) {
        state.waves[i].name = manifest.waves[i].name;
        state.waves[i].open = i <= state.open_wave;
    }
    std::vector<WaveTally> tallies(manifest.waves.size());
    count_hosts(manifest, hosts, now, silence_timeout, acknowledged, state.waves, tallies);
    for (std::size_t i = 0; i < manifest.waves.size(); ++i) {
        judge_wave(manifest, control, i, state.open_wave, now, tallies[i], state.waves[i]);
    }
    decide(manifest, control, now, acknowledged, state);
    return state;
}

}  // namespace patchwave::rollout
