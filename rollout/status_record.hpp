// What an agent says about itself: per bundle of each rollout its state, its
// reboot state and drift findings, signed by the agent's own key and sequenced.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/timestamp.hpp"
#include "crypto/envelope.hpp"
#include "rollout/certificate.hpp"
#include "rollout/host_state.hpp"
#include "rollout/ids.hpp"
#include "rollout/refusal.hpp"

namespace patchwave::rollout {

struct BundleStatus {
    BundleId bundle{};
    HostState state = HostState::waiting;
    Timestamp since{};           ///< when it entered `state`
    std::string failed_step;     ///< for failed: download, precheck, install, verify, reboot
    std::string failure_reason;  ///< for failed: exit code and last output lines, or why
    bool rolled_back = false;    ///< for failed: whether the rollback command ran and succeeded
    std::uint64_t bytes_done = 0;
    std::uint64_t bytes_total = 0;
    std::uint32_t attempts = 0;  ///< tries of the current step so far
    friend bool operator==(const BundleStatus&, const BundleStatus&) = default;
};

struct RolloutStatus {
    std::string rollout_id;
    std::uint64_t manifest_version = 0;
    std::vector<BundleStatus> bundles;  ///< in manifest order
    friend bool operator==(const RolloutStatus&, const RolloutStatus&) = default;
};

struct RebootStatus {
    bool pending = false;
    std::optional<Timestamp> pending_since;
    std::optional<Timestamp> deadline;
    std::optional<Timestamp> scheduled_for;  ///< effective reboot time (next window, or the deadline)
    std::uint32_t deferrals_used = 0;
    friend bool operator==(const RebootStatus&, const RebootStatus&) = default;
};

/// A watched path whose content no approved bundle explains.
struct DriftFinding {
    std::string path;
    std::string expected;  ///< hex digest recorded after install, or "absent"
    std::string actual;    ///< hex digest found now, or "absent"
    std::optional<BundleId> bundle;  ///< the bundle that last set the path, if any
    Timestamp detected{};
    friend bool operator==(const DriftFinding&, const DriftFinding&) = default;
};

/// JSON body of a "patchwave.status" envelope, signed by the agent's own key.
struct StatusRecord {
    static constexpr std::string_view kEnvelopeType = "patchwave.status";
    static constexpr std::size_t kMaxBodySize = 64 * 1024;
    static constexpr std::size_t kMaxRollouts = 64;
    static constexpr std::size_t kMaxBundlesPerRollout = 64;
    static constexpr std::size_t kMaxDriftFindings = 256;
    static constexpr std::size_t kMaxRefusals = 16;

    AgentId agent{};
    std::uint64_t sequence = 1;  ///< per agent, strictly rising
    std::string boot_id;
    Timestamp time{};
    std::vector<RolloutStatus> rollouts;
    RebootStatus reboot;
    std::vector<DriftFinding> drift;
    /// What this agent refused lately, oldest first (at most kMaxRefusals).
    /// JSON key "refused", written only when not empty and optional on
    /// parse, so statuses from agents before it still parse.
    std::vector<Refusal> refused;

    std::string to_json() const;
    static Result<StatusRecord> parse_json(std::string_view body);
    crypto::Envelope sign(const crypto::PrivateKey& agent_key) const;

    friend bool operator==(const StatusRecord&, const StatusRecord&) = default;
};

/// Verifies a status envelope against the certificate of the agent it claims
/// to come from: type, signed by exactly that agent key, parse, `agent`
/// equals the certificate's agent id, sequence above `last_seen_sequence`.
/// Nobody can report for another host. Errc::untrusted otherwise.
Result<StatusRecord> verify_status(const crypto::Envelope& envelope, const AgentCertificate& certificate,
                                   std::uint64_t last_seen_sequence);

}  // namespace patchwave::rollout
