// The trust seam of gossip: who may join (certificate against the enrollment
// keys) and which records may be stored or forwarded (signatures, sequence).
#pragma once

#include <cstdint>

#include "common/error.hpp"
#include "net/gossip/record.hpp"
#include "net/gossip/transport.hpp"

namespace patchwave::net::gossip {

/// What a verified certificate tells the core about a member.
struct MemberIdentity {
    MemberId id{};
};

/// Decides admission and record validity. The core calls it before a member
/// enters the member list and before a record is stored or forwarded; it
/// never stores or forwards anything this refused. Called on the node's
/// loop only. The rollout implementation (RolloutVerifier) checks against
/// the trust root with rollout/'s verify_* functions; tests use fakes.
class RecordVerifier {
public:
    virtual ~RecordVerifier() = default;

    /// Verifies a member's certificate envelope (for the rollout verifier:
    /// enrollment-role signatures, not expired). On success the verifier
    /// keeps the certificate: records that member signs are checked against
    /// it, and certificate() serves it to members that ask.
    virtual Result<MemberIdentity> admit_member(ByteView certificate_envelope) = 0;

    /// The certificate envelope admitted for `id`, or empty when none.
    virtual Bytes certificate(const MemberId& id) const = 0;

    /// The member has been forgotten: drop what was kept for it.
    virtual void forget_member(const MemberId& id) = 0;

    /// Verifies a record envelope: its signatures, and that its signed body
    /// says exactly what `claimed` says (type, origin, id, version).
    /// `held_version` is the version already held for that key (0 if none);
    /// the caller has already refused claims at or below it.
    virtual Status verify_record(const RecordHeader& claimed, ByteView envelope, std::uint64_t held_version) = 0;

    /// Whether a record already stored is still signed by keys trusted now
    /// (asked after the trust changed, e.g. a root rotation revoked a key):
    /// signatures only, not expiry or version. The default keeps everything.
    virtual Status still_trusted(const RecordHeader& header, ByteView envelope) {
        (void)header;
        (void)envelope;
        return {};
    }
};

}  // namespace patchwave::net::gossip
