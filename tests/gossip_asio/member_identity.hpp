// Identities for the real-network gossip tests: enrolled agent certificates and
// release-signed manifests from the rollout test fixtures, checked by the real RolloutVerifier.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "net/gossip/record.hpp"
#include "net/gossip/rollout_verifier.hpp"
#include "rollout/document_fixtures.hpp"

namespace patchwave::net::gossip::testing {

/// Wall-clock time the verifiers judge expiry at: inside every fixture's validity.
inline Timestamp fixture_now() {
    return rollout::testing::at("2026-11-25T10:00:00Z");
}

/// Member `index`'s agent key (deterministic, so separate processes agree).
inline crypto::PrivateKey member_key(std::size_t index) {
    return rollout::testing::test_key(static_cast<std::uint8_t>(100 + index));
}

/// An enrollment-signed certificate for member `index`.
inline Bytes member_certificate(const rollout::testing::TestTrust& trust, std::size_t index) {
    rollout::AgentCertificate certificate;
    certificate.agent_key = member_key(index).public_key();
    certificate.host = "host-" + std::to_string(index);
    certificate.labels = {{"ring", "prod"}};
    certificate.issued = rollout::testing::at("2026-01-01T00:00:00Z");
    certificate.expires = rollout::testing::at("2027-01-01T00:00:00Z");
    return *certificate.sign(trust.enrollment).encode();
}

inline std::unique_ptr<RolloutVerifier> member_verifier(const rollout::testing::TestTrust& trust) {
    return std::make_unique<RolloutVerifier>(trust.trust, [] { return fixture_now(); });
}

inline RecordHeader manifest_header(const std::string& rollout_id, std::uint64_t version) {
    return {{RecordType::manifest, MemberId{}, rollout_id}, version};
}

/// A release-signed manifest envelope. With `bundles` above 2, extra
/// bundles with long names make it bigger than a datagram (about 190
/// bytes each), so it has to travel as a digest and a stream fetch.
inline Bytes manifest_envelope(const rollout::testing::TestTrust& trust, const std::string& rollout_id,
                               std::uint64_t version, std::size_t bundles = 2) {
    rollout::Manifest manifest = rollout::testing::sample_manifest();
    manifest.rollout_id = rollout_id;
    manifest.version = version;
    for (std::size_t i = manifest.bundles.size(); i < bundles && i < rollout::Manifest::kMaxBundles; ++i) {
        rollout::ManifestBundle extra = manifest.bundles.front();
        extra.id = rollout::testing::bundle_id(static_cast<std::uint8_t>(100 + i));
        extra.name = "filler-bundle-" + std::to_string(i) + "-" + std::string(96, 'x');
        manifest.bundles.push_back(std::move(extra));
    }
    return *trust.sign_release(manifest).encode();
}

}  // namespace patchwave::net::gossip::testing
