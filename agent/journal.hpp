// The agent's journal: every bundle's state, the reboot in progress, drift
// baselines and replay floors, written durably before the action it announces.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/drift_monitor.hpp"
#include "common/error.hpp"
#include "common/timestamp.hpp"
#include "rollout/host_state.hpp"
#include "rollout/ids.hpp"
#include "rollout/status_record.hpp"

namespace patchwave::agent {

/// Step names as they appear in the journal, logs and failed_step.
namespace step {
inline constexpr std::string_view download = "download";
inline constexpr std::string_view precheck = "precheck";
inline constexpr std::string_view install = "install";
inline constexpr std::string_view verify = "verify";
inline constexpr std::string_view reboot = "reboot";
inline constexpr std::string_view post_reboot_verify = "post-reboot-verify";
inline constexpr std::string_view rollback = "rollback";
}  // namespace step

struct BundleJournal {
    rollout::BundleId id{};
    rollout::HostState state = rollout::HostState::waiting;
    Timestamp since{};
    /// The step running or last run. With `step_running` set after a crash,
    /// the command may have run half: recovery rolls it back, never skips it.
    std::string step;
    bool step_running = false;
    std::uint32_t attempts = 0;        ///< failed attempts of this bundle so far (the wave's retries bound them)
    std::uint32_t interruptions = 0;   ///< steps the agent itself interrupted (crash, shutdown) so far
    bool interrupted = false;          ///< the failure being rolled back is an interruption, not the bundle's
    std::optional<Timestamp> retry_at; ///< after a failed attempt: not before this
    std::string failed_step;           ///< the step that failed (also kept while rolling back)
    std::string failure_reason;
    bool rolled_back = false;
    bool needs_reboot = false;
    std::string boot_id;  ///< the boot id when it became reboot-pending: a different one proves the reboot
    std::uint64_t bytes_done = 0;
    std::uint64_t bytes_total = 0;
    friend bool operator==(const BundleJournal&, const BundleJournal&) = default;
};

struct RolloutJournal {
    std::string rollout_id;
    std::uint64_t manifest_version = 0;
    std::vector<BundleJournal> bundles;  ///< in manifest order
    friend bool operator==(const RolloutJournal&, const RolloutJournal&) = default;
};

struct RebootJournal {
    /// Set before the reboot command runs, with the boot id it must change.
    bool requested = false;
    std::string boot_id_before;
    std::optional<Timestamp> requested_at;
    std::uint32_t deferrals_used = 0;
    std::optional<Timestamp> deferred_until;
    /// When the agent first found the reboot due and told the user (the
    /// notice period during which `defer-reboot` still works).
    std::optional<Timestamp> notice_since;
    friend bool operator==(const RebootJournal&, const RebootJournal&) = default;
};

struct JournalState {
    static constexpr int kFormat = 1;

    std::uint64_t status_sequence = 0;  ///< the last status record signed
    /// Never decreases: the latest time the agent trusted (its clock, or a
    /// signed document's time), so a clock set back cannot revive an expired manifest.
    Timestamp trusted_time{};
    std::vector<RolloutJournal> rollouts;
    RebootJournal reboot;
    std::vector<TrackedPath> baseline;
    std::vector<rollout::DriftFinding> drift;
    std::optional<Timestamp> drift_checked;
    /// Replay floors: the highest verified manifest version and control
    /// sequence per rollout, and the highest trust-root version adopted.
    std::map<std::string, std::uint64_t> manifest_versions;
    std::map<std::string, std::uint64_t> control_sequences;
    /// The same floors per signing key (agent/replay_floors.hpp): only the
    /// keys the current root trusts for the role set the floor, so a
    /// rotation that revokes a compromised key lifts what it signed.
    /// manifest_versions and control_sequences still apply to a rollout
    /// without per-key floors (a journal from before they were kept).
    std::map<std::string, std::map<std::string, std::uint64_t>> manifest_key_floors;
    std::map<std::string, std::map<std::string, std::uint64_t>> control_key_floors;
    /// Where trusted_time was last taken, so it can move on with the
    /// boot-time clock while the host stays up (agent/trusted_time.hpp).
    std::string trusted_boot_id;
    std::int64_t trusted_boot_seconds = 0;

    RolloutJournal* find_rollout(std::string_view rollout_id);
    const RolloutJournal* find_rollout(std::string_view rollout_id) const;
    friend bool operator==(const JournalState&, const JournalState&) = default;
};

std::string to_json(const JournalState& state);
/// Errc::parse naming the field; the caller prefixes the file name.
Result<JournalState> journal_from_json(std::string_view text);

/// The journal file: read once at start, then replaced atomically (temp,
/// fsync, rename, fsync directory) on every commit.
class Journal {
public:
    static constexpr std::uint64_t kMaxSize = 16 * 1024 * 1024;

    /// Loads `path`, or starts empty when it does not exist. A journal that
    /// does not parse is an error naming the file: the agent must not guess
    /// what it did to the host.
    static Result<Journal> open(std::filesystem::path path);

    const JournalState& state() const { return state_; }
    /// Makes `next` the durable state; on failure the old state stays.
    Status commit(JournalState next);
    const std::filesystem::path& path() const { return path_; }

private:
    Journal(std::filesystem::path path, JournalState state) : path_(std::move(path)), state_(std::move(state)) {}
    std::filesystem::path path_;
    JournalState state_;
};

/// A test-only crash point: when the environment variable
/// PATCHWAVE_CRASH_AT equals `point`, the process dies at once (SIGKILL to
/// itself), as power loss would. Points are named "<when>:<what>", e.g.
/// "after-commit:installing/install".
void crash_point(std::string_view point);

}  // namespace patchwave::agent
