// Test fixtures for the signed rollout documents: deterministic keys, a trust
// root with every role, and sample documents that tests then break one field at a time.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "common/timestamp.hpp"
#include "crypto/keys.hpp"
#include "crypto/trust_root.hpp"
#include "rollout/approval.hpp"
#include "rollout/manifest.hpp"

namespace patchwave::rollout::testing {

/// The same Ed25519 key for the same number, so runs are reproducible and fast.
inline crypto::PrivateKey test_key(std::uint8_t n) {
    std::array<std::uint8_t, crypto::PrivateKey::kSeedSize> seed{};
    seed.fill(n);
    return crypto::PrivateKey::from_seed(seed);
}

inline Timestamp at(std::string_view text) { return *parse_timestamp(text); }

inline BundleId bundle_id(std::uint8_t n) {
    BundleId id{};
    id.fill(n);
    return id;
}

/// root: key 1; release: 10, 11 (2 of 2); operator: 20, 21 (1 of 2);
/// approver: 30-34 (3 of 5, emergency 2); enrollment: 40. Expires 2030.
struct TestTrust {
    crypto::PrivateKey root = test_key(1);
    std::vector<crypto::PrivateKey> release;
    std::vector<crypto::PrivateKey> operators;
    std::vector<crypto::PrivateKey> approvers;
    crypto::PrivateKey enrollment = test_key(40);
    crypto::TrustRoot trust;

    TestTrust() {
        for (std::uint8_t n : {10, 11}) release.push_back(test_key(n));
        for (std::uint8_t n : {20, 21}) operators.push_back(test_key(n));
        for (std::uint8_t n = 30; n < 35; ++n) approvers.push_back(test_key(n));
        trust.version = 1;
        trust.expires = at("2030-01-01T00:00:00Z");
        trust.role(crypto::Role::root) = {{root.public_key()}, 1};
        trust.role(crypto::Role::release) = {{release[0].public_key(), release[1].public_key()}, 2};
        trust.role(crypto::Role::operator_) = {{operators[0].public_key(), operators[1].public_key()}, 1};
        for (const auto& key : approvers) trust.role(crypto::Role::approver).keys.push_back(key.public_key());
        trust.role(crypto::Role::approver).threshold = 3;
        trust.approver_emergency_threshold = 2;
        trust.role(crypto::Role::enrollment) = {{enrollment.public_key()}, 1};
    }

    /// A manifest envelope signed by both release keys.
    crypto::Envelope sign_release(const Manifest& manifest) const {
        crypto::Envelope envelope = manifest.sign(release[0]);
        envelope.sign(release[1]);
        return envelope;
    }
};

/// An approval of bundle_id(7) with metadata digest sha256("bundle.toml").
inline Approval sample_approval(std::string change_ref = "CHG-1234") {
    Approval approval;
    approval.bundle = bundle_id(7);
    approval.metadata_digest = crypto::sha256(std::string_view("bundle.toml"));
    approval.change_ref = std::move(change_ref);
    approval.note = "tested in staging";
    approval.approved_at = at("2026-11-20T10:00:00Z");
    return approval;
}

/// A three-wave manifest (test, canary 5%, rest) carrying bundle_id(7) and bundle_id(8).
inline Manifest sample_manifest() {
    using namespace std::chrono_literals;
    Manifest manifest;
    manifest.rollout_id = "2026-11-B";
    manifest.version = 3;
    ManifestBundle first;
    first.id = bundle_id(7);
    first.metadata_digest = crypto::sha256(std::string_view("bundle.toml"));
    first.name = "openssl-cve-2026-1234";
    first.version = "3.0.22-1";
    ManifestBundle second;
    second.id = bundle_id(8);
    second.metadata_digest = crypto::sha256(std::string_view("other.toml"));
    second.name = "tzdata";
    second.version = "2026a-1";
    second.triage = TriageStatus::hold;
    manifest.bundles = {first, second};
    manifest.not_before = at("2026-11-24T01:00:00Z");
    manifest.published = at("2026-11-23T12:00:00Z");
    manifest.expires = at("2026-12-24T00:00:00Z");
    manifest.reboot_deadline = 48h;
    manifest.max_reboot_deferrals = 3;
    WaveSpec test{"test", {{"ring", "test"}}, std::nullopt, Percent::whole(100), Percent::whole(0), 1h, 1};
    WaveSpec canary{"canary", {{"ring", "prod"}}, 5, Percent{9500}, Percent{250}, 4h, 0};
    WaveSpec rest{"rest", {{"ring", "prod"}}, std::nullopt, Percent::whole(100), Percent::whole(0), 0s, 0};
    manifest.waves = {test, canary, rest};
    return manifest;
}

}  // namespace patchwave::rollout::testing
