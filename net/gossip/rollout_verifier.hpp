// The RecordVerifier agents and the orchestrator run: admission by agent
// certificate and record checks against the pinned trust root, via rollout/'s verify_* functions.
#pragma once

#include <functional>
#include <unordered_map>

#include "common/timestamp.hpp"
#include "crypto/trust_root.hpp"
#include "net/gossip/membership.hpp"
#include "net/gossip/verifier.hpp"
#include "rollout/certificate.hpp"

namespace patchwave::net::gossip {

/// Checks every record type against the trust root:
///  - status: signed by the agent key of the certificate admitted for its
///    origin (verify_status); an agent nobody admitted cannot report;
///  - manifest, control: release / operator role thresholds (verify_manifest,
///    verify_control), the key's id is the rollout id;
///  - root: the next root after the pinned one (verify_next_root);
///  - certificate: the enrollment role (verify_certificate), version = issue time.
/// In every case the signed body must say what the gossip header claims.
class RolloutVerifier final : public RecordVerifier {
public:
    /// `now` is wall-clock time for expiry checks.
    RolloutVerifier(crypto::TrustRoot root, std::function<Timestamp()> now);

    Result<MemberIdentity> admit_member(ByteView certificate_envelope) override;
    Bytes certificate(const MemberId& id) const override;
    void forget_member(const MemberId& id) override { members_.erase(id); }
    Status verify_record(const RecordHeader& claimed, ByteView envelope, std::uint64_t held_version) override;
    /// Manifests, control records and certificates: a threshold of the
    /// current root's release, operator or enrollment keys still signed them.
    Status still_trusted(const RecordHeader& header, ByteView envelope) override;

    /// Adopts a newer trust root (after a root record verified and was stored).
    void set_root(crypto::TrustRoot root) { root_ = std::move(root); }
    const crypto::TrustRoot& root() const { return root_; }

private:
    struct Admitted {
        Bytes envelope;
        rollout::AgentCertificate certificate;
    };

    crypto::TrustRoot root_;
    std::function<Timestamp()> now_;
    std::unordered_map<MemberId, Admitted, MemberIdHash> members_;
};

}  // namespace patchwave::net::gossip
