// A stand-in for the rollout verifier in simulations: fake certificates and
// records whose "signatures" are keyed checksums, so 10,000 members cost no crypto.
#pragma once

#include <cstddef>
#include <cstdint>

#include "net/gossip/record.hpp"
#include "net/gossip/verifier.hpp"

namespace patchwave::net::gossip::sim {

/// The member id the simulator gives member `index` (a deterministic 32-byte value).
MemberId fake_member_id(std::uint32_t index);

/// A certificate the fake verifier admits: magic, member id, and a check
/// value only the fake "enrollment key" produces. With `forged` the check
/// value is wrong, so the certificate is refused like an unenrolled one.
Bytes fake_certificate(const MemberId& id, bool forged = false);

/// A record envelope the fake verifier accepts for `header`: magic, the
/// header, `payload_size` filler bytes, and a check value keyed by the
/// origin (the signer). With `forged_by` set, the check is keyed by that
/// member instead, as if it signed a record claiming another origin.
Bytes fake_record(const RecordHeader& header, std::size_t payload_size, const MemberId* forged_by = nullptr);

/// Stateless, so one instance can serve every simulated node: it keeps no
/// certificates because it can rebuild any it would have admitted.
class FakeVerifier final : public RecordVerifier {
public:
    Result<MemberIdentity> admit_member(ByteView certificate_envelope) override;
    Bytes certificate(const MemberId& id) const override { return fake_certificate(id); }
    void forget_member(const MemberId&) override {}
    Status verify_record(const RecordHeader& claimed, ByteView envelope, std::uint64_t held_version) override;
};

}  // namespace patchwave::net::gossip::sim
