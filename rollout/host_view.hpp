// The orchestrator's view of one host (certificate labels, latest verified
// status, when last heard) and its one aggregate state for a rollout.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/duration.hpp"
#include "common/timestamp.hpp"
#include "rollout/host_state.hpp"
#include "rollout/ids.hpp"
#include "rollout/manifest.hpp"
#include "rollout/status_record.hpp"

namespace patchwave::rollout {

/// What the orchestrator knows about one enrolled host.
struct HostView {
    AgentId agent{};
    std::string host;                     ///< host name from the certificate (audit order, display)
    Labels labels;                        ///< from the certificate: they decide the wave
    std::optional<StatusRecord> status;   ///< latest verified status record
    std::optional<Timestamp> last_heard;  ///< orchestrator's clock when a record last arrived
};

/// True when the host has not been heard from for longer than `timeout`
/// (now - last_heard > timeout), or never. Exactly `timeout` ago is not yet
/// silent. The orchestrator's receive time counts, not the record's own time,
/// so a host with a wrong clock is judged by when it really spoke.
bool is_silent(const HostView& host, Timestamp now, Duration timeout);

/// The host's status for `rollout_id`, or nullptr when it reported none.
const RolloutStatus* find_rollout(const StatusRecord& status, std::string_view rollout_id);

/// The status entry for one bundle, or nullptr (the bundle is then waiting).
const BundleStatus* find_bundle(const RolloutStatus& status, const BundleId& bundle);

/// One state per host and rollout, folded over the manifest's bundles (a
/// bundle with no entry counts as waiting):
///   any failed                            => failed
///   all installed                         => installed
///   all installed or reboot-pending       => reboot-pending
///   otherwise                             => the state of the first bundle
///                                            (manifest order) not installed
/// Bundles are matched by id, so a status about an older manifest version
/// of the same rollout still counts for the bundles they share.
struct HostRolloutState {
    HostState state = HostState::waiting;
    /// When the host entered `state` as far as its bundles tell: for
    /// installed and reboot-pending the latest `since` among the bundles
    /// (the moment the last one got there), for failed the latest failure,
    /// otherwise the `since` of the bundle that decided the state. Absent
    /// when no bundle entry decided it (nothing reported).
    std::optional<Timestamp> since;
};

HostRolloutState aggregate_state(const Manifest& manifest, const RolloutStatus* status);
HostRolloutState aggregate_state(const Manifest& manifest, const HostView& host);

}  // namespace patchwave::rollout
