// Whether this host may act on a rollout now: its wave, the control state,
// not_before, expiry, its maintenance window and each bundle's clearance.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/timestamp.hpp"
#include "crypto/trust_root.hpp"
#include "rollout/control_record.hpp"
#include "rollout/manifest.hpp"
#include "rollout/windows.hpp"

namespace patchwave::agent {

/// What this agent knows about itself that decides its wave and its windows.
struct HostFacts {
    rollout::AgentId agent{};
    rollout::Labels labels;                ///< from its certificate (signed: a host cannot move waves)
    std::vector<rollout::Window> maintenance;  ///< empty = any time
    rollout::UtcOffset offset{};
};

struct Eligibility {
    std::optional<std::size_t> wave;  ///< nullopt: this host is not targeted
    /// New downloads may start: targeted, wave open, not paused, aborted or
    /// expired, not_before passed. Downloads ignore the maintenance window
    /// (fetching changes nothing on the host, and staging early keeps the
    /// window for the install itself).
    bool may_download = false;
    /// New installs may start: may_download and inside a maintenance window.
    bool may_install = false;
    bool aborted = false;
    /// Why not (empty when may_install): "paused by alice: ...", "wave 2
    /// (\"prod\") is not open yet", "outside the maintenance window until ...".
    std::string reason;
    /// When the answer can change by time alone (not_before, a window
    /// opening or closing, expiry); nullopt when only a new record can change it.
    std::optional<Timestamp> recheck_at;
    /// Per manifest bundle: empty when it may be applied in this host's wave,
    /// else why not (held, cancelled, too few approvals). Such bundles are
    /// never downloaded nor applied, whatever else the manifest says.
    std::vector<std::string> refusals;
};

/// Pure: everything is a parameter, `now` included.
Eligibility evaluate_eligibility(const rollout::Manifest& manifest, const rollout::ControlRecord* control,
                                 const crypto::TrustRoot& root, const HostFacts& host, Timestamp now);

}  // namespace patchwave::agent
