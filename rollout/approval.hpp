// An approver's sign-off on one bundle, tied to a change order: the "approval"
// step of the patch process, counted K of N against the trust root.
#pragma once

#include <cstddef>
#include <set>
#include <span>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "common/timestamp.hpp"
#include "crypto/envelope.hpp"
#include "crypto/trust_root.hpp"
#include "rollout/ids.hpp"

namespace patchwave::rollout {

/// JSON body of a "patchwave.approval" envelope, signed by one approver key.
struct Approval {
    static constexpr std::string_view kEnvelopeType = "patchwave.approval";
    static constexpr std::size_t kMaxBodySize = 16 * 1024;
    static constexpr std::size_t kMaxChangeRefLength = 128;
    static constexpr std::size_t kMaxNoteLength = 4096;

    BundleId bundle{};
    crypto::Digest metadata_digest{};  ///< metadata_digest() of the bundle.toml approved
    std::string change_ref;            ///< change-order reference, e.g. "CHG-1234"; required
    std::string note;
    Timestamp approved_at{};

    std::string to_json() const;
    static Result<Approval> parse_json(std::string_view body);
    /// Serializes and signs with the approver's key.
    crypto::Envelope sign(const crypto::PrivateKey& approver) const;

    friend bool operator==(const Approval&, const Approval&) = default;
};

/// Verifies one approval envelope: type, signed by one key of the root's
/// approver role, body parses, and it names `bundle` and `metadata_digest`.
/// Returns the approver key. Errc::untrusted on any mismatch.
Result<crypto::PublicKey> verify_approval(const crypto::Envelope& envelope, const crypto::TrustRoot& root,
                                          const BundleId& bundle, const crypto::Digest& metadata_digest);

/// The distinct approver keys among `approvals` that validly approve this
/// bundle and metadata. Invalid or foreign approvals are skipped, never counted.
std::set<crypto::PublicKey> count_approvals(std::span<const crypto::Envelope> approvals,
                                            const crypto::TrustRoot& root, const BundleId& bundle,
                                            const crypto::Digest& metadata_digest);

/// How many approvals a rollout needs: the approver threshold, or the
/// emergency threshold for emergency rollouts.
std::size_t approvals_required(const crypto::TrustRoot& root, bool emergency);

}  // namespace patchwave::rollout
