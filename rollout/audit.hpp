// The rollout audit: every targeted host that is not installed, grouped by
// what an operator must do about it, plus drift and test-ring mirror gaps.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/duration.hpp"
#include "common/timestamp.hpp"
#include "rollout/host_state.hpp"
#include "rollout/host_view.hpp"
#include "rollout/ids.hpp"
#include "rollout/manifest.hpp"
#include "rollout/refusal.hpp"
#include "rollout/status_record.hpp"

namespace patchwave::rollout {

struct AuditOptions {
    /// Not heard from for longer than this => silent (see is_silent).
    Duration silence_timeout = std::chrono::minutes(15);
    /// Hosts this selects are the test ring of the mirror check.
    LabelSelector test_ring{{"ring", "test"}};
    /// false: `refused` lists only refusals that concern the audited rollout
    /// (subject_concerns); true: every host's refusals (`audit` over all rollouts).
    bool all_refusals = false;
};

/// Who an entry is about; every group is sorted by host name, then agent id.
struct AuditHost {
    std::string host;
    AgentId agent{};
    std::string wave;  ///< the wave the host is assigned to
    friend bool operator==(const AuditHost&, const AuditHost&) = default;
};

struct FailedBundle {
    BundleId bundle{};
    std::string step;  ///< download, precheck, install, verify, reboot
    std::string reason;
    bool rolled_back = false;
    Timestamp since{};
    friend bool operator==(const FailedBundle&, const FailedBundle&) = default;
};

struct FailedHost {
    AuditHost who;
    std::vector<FailedBundle> bundles;  ///< every failed bundle, manifest order
};

struct RebootPendingHost {
    AuditHost who;
    Timestamp pending_since{};   ///< the host's reboot pending_since, else its earliest
                                 ///< reboot-pending bundle's since
    Duration age{};              ///< now - pending_since
    Timestamp deadline{};        ///< the host's reported deadline, else pending_since + manifest
                                 ///< reboot_deadline
    bool past_deadline = false;  ///< now > deadline
};

struct InProgressHost {
    AuditHost who;
    HostState state = HostState::downloading;  ///< downloading, ready, installing or verifying
    std::optional<Timestamp> since;
};

struct SilentHost {
    AuditHost who;
    std::optional<Timestamp> last_heard;        ///< nullopt: never heard from
    std::optional<Duration> silent_for;         ///< now - last_heard
    HostState last_state = HostState::waiting;  ///< what it last said (waiting if nothing)
};

struct DriftEntry {
    std::string host;
    AgentId agent{};
    DriftFinding finding;
};

/// A bundle installed outside the test ring that no test-ring host has installed.
struct MirrorGap {
    BundleId bundle{};
    std::vector<std::string> hosts;  ///< the non-test-ring hosts that have it, sorted
};

/// One refusal from one host's latest status.
struct RefusedEntry {
    std::string host;
    AgentId agent{};
    Refusal refusal;
    friend bool operator==(const RefusedEntry&, const RefusedEntry&) = default;
};

struct AuditReport {
    std::string rollout_id;
    std::vector<FailedHost> failed;
    std::vector<RebootPendingHost> reboot_pending;
    std::vector<InProgressHost> in_progress;
    std::vector<AuditHost> waiting;
    std::vector<SilentHost> silent;
    std::vector<DriftEntry> drift;
    std::vector<MirrorGap> mirror_gaps;
    std::vector<RefusedEntry> refused;
    std::size_t targeted = 0;
    std::size_t installed = 0;  ///< targeted, installed and not silent (the ones not listed)
};

/// Audits one rollout over `hosts` (any set of known hosts; those no wave
/// selects are not targeted and not listed). A silent host is listed only
/// as silent, whatever it last said, including "installed": an installation
/// nobody can confirm any more needs a look. Drift covers the targeted hosts;
/// the mirror check covers the manifest's bundles over all `hosts`;
/// refusals cover all `hosts` (see AuditOptions::all_refusals).
AuditReport audit_rollout(const Manifest& manifest, std::span<const HostView> hosts, Timestamp now,
                          const AuditOptions& options = {});

/// The refusals in every host's latest status (targeted or not, silent or
/// not), sorted by host, agent, then subject; only those that concern
/// `concerning` when it is given.
std::vector<RefusedEntry> collect_refusals(std::span<const HostView> hosts, const Manifest* concerning = nullptr);

/// Drift findings of every host, sorted by host, agent, then path.
std::vector<DriftEntry> collect_drift(std::span<const HostView> hosts);

/// Mirror check over every bundle any host reports installed (any rollout),
/// sorted by bundle id. `test_ring` selects the test-ring hosts.
std::vector<MirrorGap> mirror_check(std::span<const HostView> hosts,
                                    const LabelSelector& test_ring);

}  // namespace patchwave::rollout
