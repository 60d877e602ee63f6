// What the adversarial tests share: the test trust root (rollout's document
// fixtures), signed documents an attacker starts from, and byte-level edits.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "crypto/envelope.hpp"
#include "crypto/trust_root.hpp"
#include "rollout/certificate.hpp"
#include "rollout/control_record.hpp"
#include "rollout/document_fixtures.hpp"
#include "rollout/manifest.hpp"
#include "rollout/status_record.hpp"

namespace patchwave::adversary {

using rollout::testing::at;
using rollout::testing::bundle_id;
using rollout::testing::TestTrust;

/// A time inside every sample document's validity.
inline const Timestamp kNow = at("2026-11-25T10:00:00Z");

/// The sample manifest with the canary's share removed (every prod host is in wave 2).
inline rollout::Manifest manifest(std::uint64_t version = 3) {
    rollout::Manifest m = rollout::testing::sample_manifest();
    m.version = version;
    m.waves[1].percent.reset();
    return m;
}

inline rollout::ControlRecord control(rollout::ControlAction action, std::uint64_t sequence, std::uint32_t open_wave,
                                      std::string rollout_id = "2026-11-B") {
    rollout::ControlRecord record;
    record.rollout_id = std::move(rollout_id);
    record.sequence = sequence;
    record.action = action;
    record.open_wave = open_wave;
    record.operator_name = "alice";
    record.time = at("2026-11-25T09:00:00Z");
    return record;
}

/// An enrollment-signed certificate for `key` (host "host-<n>", ring=prod).
inline rollout::AgentCertificate certificate_for(const crypto::PrivateKey& key, const std::string& host,
                                                 std::string ring = "prod") {
    rollout::AgentCertificate certificate;
    certificate.agent_key = key.public_key();
    certificate.host = host;
    certificate.labels = {{"ring", std::move(ring)}};
    certificate.issued = at("2026-11-01T00:00:00Z");
    certificate.expires = at("2027-11-01T00:00:00Z");
    return certificate;
}

inline rollout::StatusRecord status_of(const crypto::PrivateKey& agent_key, std::uint64_t sequence) {
    rollout::StatusRecord status;
    status.agent = agent_key.public_key().id();
    status.sequence = sequence;
    status.boot_id = "boot-1";
    status.time = kNow;
    return status;
}

/// The encoded bytes of an envelope (what gossip and files carry).
inline std::vector<std::uint8_t> bytes_of(const crypto::Envelope& envelope) {
    return envelope.encode().value();
}

}  // namespace patchwave::adversary
