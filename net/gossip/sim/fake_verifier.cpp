#include "net/gossip/sim/fake_verifier.hpp"

#include <algorithm>

#include "net/gossip/rng.hpp"
#include "net/gossip/wire.hpp"

namespace patchwave::net::gossip::sim {

namespace {

constexpr std::array<std::uint8_t, 4> kCertificateMagic{'F', 'K', 'C', '1'};
constexpr std::array<std::uint8_t, 4> kRecordMagic{'F', 'K', 'R', '1'};
constexpr std::uint64_t kEnrollmentKey = 0x656e726f6c6c6d74ull;

// A keyed checksum standing in for a signature: not cryptographic, only
// distinct per key and per content, which is all a simulation needs.
std::uint64_t check_value(std::uint64_t key, ByteView bytes) {
    std::uint64_t hash = mix_seed(key, bytes.size());
    for (std::uint8_t byte : bytes)
        hash = (hash ^ byte) * 1099511628211ull;
    return mix_seed(hash, key);
}

std::uint64_t key_of(const MemberId& signer) {
    std::uint64_t key = 0;
    for (std::size_t i = 0; i < 8; ++i)
        key = (key << 8) | signer[i];
    return key ^ 0x7369676e6b657921ull;
}

}  // namespace

MemberId fake_member_id(std::uint32_t index) {
    MemberId id{};
    for (std::size_t word = 0; word < 4; ++word) {
        std::uint64_t value = mix_seed(0x6d656d626572ull + index, word);
        for (std::size_t i = 0; i < 8; ++i)
            id[word * 8 + i] = static_cast<std::uint8_t>(value >> (56 - 8 * i));
    }
    return id;
}

Bytes fake_certificate(const MemberId& id, bool forged) {
    Bytes bytes;
    ByteWriter writer(bytes);
    writer.fixed(kCertificateMagic);
    writer.fixed(id);
    writer.u64(check_value(forged ? kEnrollmentKey + 1 : kEnrollmentKey, bytes));
    return bytes;
}

Bytes fake_record(const RecordHeader& header, std::size_t payload_size, const MemberId* forged_by) {
    Bytes bytes;
    ByteWriter writer(bytes);
    writer.fixed(kRecordMagic);
    writer.header(header);
    bytes.resize(bytes.size() + payload_size, 0x2e);
    const MemberId& signer = forged_by != nullptr ? *forged_by : header.key.origin;
    writer.u64(check_value(key_of(signer), bytes));
    return bytes;
}

Result<MemberIdentity> FakeVerifier::admit_member(ByteView certificate_envelope) {
    ByteReader reader(certificate_envelope);
    auto magic = reader.fixed<4>();
    MemberId id = reader.fixed<32>();
    std::uint64_t check = reader.u64();
    if (!reader.at_end() || magic != kCertificateMagic) return fail(Errc::parse, "fake certificate: malformed");
    if (check != check_value(kEnrollmentKey, certificate_envelope.first(36))) {
        return fail(Errc::untrusted, "fake certificate: not signed by the enrollment key");
    }
    return MemberIdentity{id};
}

Status FakeVerifier::verify_record(const RecordHeader& claimed, ByteView envelope, std::uint64_t held_version) {
    if (envelope.size() < 4 + 8) return fail(Errc::parse, "fake record: truncated");
    ByteReader reader(envelope);
    auto magic = reader.fixed<4>();
    RecordHeader signed_header = reader.header();
    if (!reader.ok() || magic != kRecordMagic) return fail(Errc::parse, "fake record: malformed");
    if (!(signed_header == claimed)) return fail(Errc::untrusted, "fake record: header does not match the signed one");
    ByteView body = envelope.first(envelope.size() - 8);
    ByteReader tail(envelope.subspan(envelope.size() - 8));
    if (tail.u64() != check_value(key_of(claimed.key.origin), body)) {
        return fail(Errc::untrusted, "fake record: not signed by its origin");
    }
    if (claimed.version <= held_version) return fail(Errc::untrusted, "fake record: not above the version held");
    return {};
}

}  // namespace patchwave::net::gossip::sim
