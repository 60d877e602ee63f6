// The wave gate: from the manifest, the latest control record, what hosts
// said and `now`, the rollout's phase, per-wave counts and the next action.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/duration.hpp"
#include "common/percent.hpp"
#include "common/timestamp.hpp"
#include "rollout/control_record.hpp"
#include "rollout/host_state.hpp"
#include "rollout/host_view.hpp"
#include "rollout/manifest.hpp"

namespace patchwave::rollout {

enum class RolloutPhase {
    waiting,    ///< before the manifest's not_before
    running,    ///< waves up to open_wave may install
    paused,     ///< by a pause control record, or by the failure threshold
    aborted,    ///< an abort control record: final
    completed,  ///< the last wave is open and has passed
    expired,    ///< past the manifest's expiry unfinished: agents refuse it now
};
/// "waiting", "running", "paused", "aborted", "completed", "expired".
std::string_view to_string(RolloutPhase phase);

enum class PauseCause {
    none,
    control_record,  ///< the latest control record is a pause (operator or an earlier auto-pause)
    failure_threshold,  ///< failures crossed an open wave's threshold; no pause record yet
};
/// "none", "control-record", "failure-threshold".
std::string_view to_string(PauseCause cause);

enum class GateActionKind {
    none,
    advance,     ///< sign an advance record opening wave `to_wave`
    auto_pause,  ///< sign a pause record with `reason`
    complete,    ///< the rollout is done: emit "finished"
};
/// "none", "advance", "auto-pause", "complete".
std::string_view to_string(GateActionKind kind);

/// Hosts of one wave by their aggregate state. A silent host counts only as
/// silent, whatever it last said; by_state holds the hosts that are not silent.
struct StateCounts {
    std::array<std::size_t, kAllHostStates.size()> by_state{};
    std::size_t silent = 0;

    std::size_t operator[](HostState state) const {
        return by_state[static_cast<std::size_t>(state)];
    }
    std::size_t& operator[](HostState state) { return by_state[static_cast<std::size_t>(state)]; }
    friend bool operator==(const StateCounts&, const StateCounts&) = default;
};

struct WaveProgress {
    std::string name;
    bool open = false;         ///< index <= the rollout's open_wave
    std::size_t targeted = 0;  ///< hosts assigned to this wave
    StateCounts counts;
    /// installed (non-silent) hosts needed to pass: ceil(success_bp * targeted / 10000).
    std::size_t installed_needed = 0;
    /// failed (non-silent) hosts whose failure is not older than the latest
    /// resume/advance record: the ones the failure threshold judges.
    std::size_t failed_since_ack = 0;
    /// installed * 10000 >= success_bp * targeted (an empty wave passes).
    bool passed = false;
    /// When the installed_needed-th host reached installed (see gate docs).
    std::optional<Timestamp> passed_at;
    /// passed_at + soak (+ 0 for an emergency rollout).
    std::optional<Timestamp> soaked_at;
    /// passed and now >= soaked_at.
    bool soaked = false;
    /// open and failed_since_ack * 10000 > failure_bp * targeted.
    bool failing = false;
};

struct GateAction {
    GateActionKind kind = GateActionKind::none;
    std::size_t to_wave = 0;  ///< advance: the wave to open
    std::string reason;       ///< names the wave and the counts behind the action
};

struct RolloutState {
    std::string rollout_id;
    RolloutPhase phase = RolloutPhase::running;
    PauseCause pause_cause = PauseCause::none;
    /// Why the phase is what it is: the control record's reason (paused,
    /// aborted), the failure summary (auto-pause), "not before T" (waiting).
    std::string reason;
    /// operator_name of the control record behind paused/aborted.
    std::string by;
    /// Highest open wave: the control record's open_wave (clamped to the last
    /// wave), else 0. The gate never opens a wave itself; it recommends.
    std::size_t open_wave = 0;
    std::vector<WaveProgress> waves;
    GateAction action;
    /// When the answer changes with time alone (not_before, a soak ending);
    /// the orchestrator re-evaluates then even if no status arrives.
    std::optional<Timestamp> recheck_at;
};

/// ceil(success_bp * targeted / 10000): the installed hosts a wave needs.
std::size_t installed_needed(Percent success_threshold, std::size_t targeted);

/// Evaluates the gate. `hosts` may hold every known host: each is assigned
/// with assign_wave and hosts no wave selects are ignored. A control record
/// for another rollout id is ignored. Rules, in order:
///   abort record                 => aborted, no action (final)
///   now >= expires, unless the last wave is open and passed
///                                => expired, no action (agents refuse it)
///   pause record                 => paused (control-record), no action
///   now < not_before             => waiting, no action
///   an open wave is failing      => paused (failure-threshold), auto_pause
///   open_wave is last and passed => completed, complete
///   open wave passed and soaked  => running, advance to open_wave + 1
///   otherwise                    => running, no action
RolloutState evaluate_gate(const Manifest& manifest, const std::optional<ControlRecord>& control,
                           std::span<const HostView> hosts, Timestamp now,
                           Duration silence_timeout);

}  // namespace patchwave::rollout
