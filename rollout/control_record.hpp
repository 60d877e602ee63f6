// Operator control of a rollout (pause, resume, advance, abort) as signed,
// sequenced records: the highest valid sequence number wins, so replays lose.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "common/timestamp.hpp"
#include "crypto/envelope.hpp"
#include "crypto/trust_root.hpp"

namespace patchwave::rollout {

enum class ControlAction { pause, resume, advance, abort };
std::string_view to_string(ControlAction action);
Result<ControlAction> control_action_from_string(std::string_view text);

/// JSON body of a "patchwave.control" envelope, signed by the operator role.
/// Each record carries the whole control state after it (which wave is the
/// highest open one), so the latest record alone says where the rollout
/// stands: a pause does not forget which waves were open.
struct ControlRecord {
    static constexpr std::string_view kEnvelopeType = "patchwave.control";
    static constexpr std::size_t kMaxBodySize = 16 * 1024;
    static constexpr std::size_t kMaxReasonLength = 1024;
    static constexpr std::size_t kMaxOperatorLength = 128;

    std::string rollout_id;
    std::uint64_t sequence = 1;  ///< per rollout, strictly rising
    ControlAction action = ControlAction::pause;
    std::uint32_t open_wave = 0;  ///< index of the highest open wave after this record
    std::string reason;
    std::string operator_name;  ///< who, for the audit trail ("alice", "patchwave serve (auto)")
    Timestamp time{};

    /// pause: paused; abort: aborted (final); resume and advance: running.
    bool paused() const { return action == ControlAction::pause; }
    bool aborted() const { return action == ControlAction::abort; }

    std::string to_json() const;
    static Result<ControlRecord> parse_json(std::string_view body);
    crypto::Envelope sign(const crypto::PrivateKey& operator_key) const;

    friend bool operator==(const ControlRecord&, const ControlRecord&) = default;
};

/// Type, operator-role threshold, parse, rollout id matches, and sequence
/// strictly above `last_seen_sequence` (0 when none). Errc::untrusted otherwise.
Result<ControlRecord> verify_control(const crypto::Envelope& envelope, const crypto::TrustRoot& root,
                                     std::string_view rollout_id, std::uint64_t last_seen_sequence);

}  // namespace patchwave::rollout
