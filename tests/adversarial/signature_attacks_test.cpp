// Attacks on signatures and thresholds (docs/security.md rows 8-11): too few
// approvals padded with duplicates and aliases, broken root chains, malleated
// and re-encoded documents, and signatures moved from one document type to another.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "adversary.hpp"
#include "agent/eligibility.hpp"
#include "agent/trust_state.hpp"
#include "common/file_io.hpp"
#include "net/gossip/rollout_verifier.hpp"
#include "rollout/approval.hpp"
#include "support/temp_dir.hpp"

using namespace patchwave;
using namespace patchwave::adversary;
using Catch::Matchers::Contains;
using rollout::testing::test_key;

namespace {

const crypto::Digest kDigest = crypto::sha256(std::string_view("bundle.toml"));

rollout::Approval approval_of_bundle_7() {
    rollout::Approval approval = rollout::testing::sample_approval();
    approval.bundle = bundle_id(7);
    approval.metadata_digest = kDigest;
    return approval;
}

// Root v`version` of the test trust whose root role is `root_key` alone.
crypto::TrustRoot root_version(const TestTrust& trust, std::uint64_t version, std::uint8_t root_key) {
    crypto::TrustRoot root = trust.trust;
    root.version = version;
    root.role(crypto::Role::root) = {{test_key(root_key).public_key()}, 1};
    return root;
}

crypto::Envelope sign_root(const crypto::TrustRoot& root, std::vector<std::uint8_t> signers) {
    std::vector<crypto::PrivateKey> keys;
    for (auto n : signers)
        keys.push_back(test_key(n));
    std::vector<const crypto::PrivateKey*> pointers;
    for (const auto& key : keys)
        pointers.push_back(&key);
    return crypto::TrustRoot::sign(root, pointers).value();
}

net::gossip::RecordHeader root_header(std::uint64_t version) {
    return {{net::gossip::RecordType::root, {}, ""}, version};
}

// Adds the group order L to S: the same signature in a second encoding.
void malleate(crypto::Signature& signature) {
    static constexpr std::array<std::uint8_t, 32> kOrder{
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
        0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10};
    unsigned carry = 0;
    for (std::size_t i = 0; i < 32; ++i) {
        const unsigned sum = signature[32 + i] + kOrder[i] + carry;
        signature[32 + i] = static_cast<std::uint8_t>(sum);
        carry = sum >> 8;
    }
}

}  // namespace

TEST_CASE("attack 8: K-1 approvals padded with a duplicate and an aliased signature clear no later wave",
          "[adversarial]") {
    // The trust root needs 3 approvals. Two approvers signed; the attacker
    // adds approver 1's approval again, approver 1's signature a second time
    // on the same envelope, and approver 0's signature relabelled with
    // approver 2's key id. Still 2 of 3: the bundle may not run in the
    // canary or rest waves, so a prod host never fetches or applies it.
    TestTrust trust;
    rollout::Manifest m = manifest();
    crypto::Envelope first = approval_of_bundle_7().sign(trust.approvers[0]);
    crypto::Envelope second = approval_of_bundle_7().sign(trust.approvers[1]);
    crypto::Envelope doubled = second;
    doubled.sign(trust.approvers[1]);
    crypto::Envelope aliased = approval_of_bundle_7().sign(trust.approvers[0]);
    aliased.signatures[0].key_id = trust.approvers[2].public_key().id();
    m.bundles[0].approvals = {first, second, second, doubled, aliased};

    const std::vector<crypto::Envelope>& approvals = m.bundles[0].approvals;
    CHECK(rollout::count_approvals(approvals, trust.trust, bundle_id(7), kDigest).size() == 2);
    for (std::size_t wave : {1u, 2u}) {
        auto cleared = rollout::bundle_cleared_for_wave(m, m.bundles[0], wave, trust.trust);
        REQUIRE_FALSE(cleared);
        CHECK(cleared.error().is(Errc::untrusted));
        CHECK_THAT(cleared.error().message(), Contains("2 of 3 required approvals"));
    }
    agent::HostFacts prod;
    prod.agent = test_key(60).public_key().id();
    prod.labels = {{"ring", "prod"}};
    rollout::ControlRecord all_open = control(rollout::ControlAction::advance, 2, 2);
    const agent::Eligibility eligibility = agent::evaluate_eligibility(m, &all_open, trust.trust, prod, kNow);
    REQUIRE(eligibility.wave == std::optional<std::size_t>(1));
    CHECK_THAT(eligibility.refusals.at(0), Contains("2 of 3 required approvals"));

    // A real third approver clears it: the refusal was about the count, nothing else.
    m.bundles[0].approvals.push_back(approval_of_bundle_7().sign(trust.approvers[2]));
    CHECK(rollout::bundle_cleared_for_wave(m, m.bundles[0], 1, trust.trust));
}

TEST_CASE("attack 9: a root chain v1 to v5 is walked, a skipped or new-keys-only link is refused", "[adversarial]") {
    // Each rotation moves the root role to a new key and is signed by the
    // old and the new one. Gossip's verifier takes v2..v5 one by one; a
    // member holding v1 refuses v3 (skipped), and a v2 signed by its own new
    // key alone (an attacker who made a key, not one who holds the old one).
    TestTrust trust;
    std::vector<crypto::Envelope> chain;
    for (std::uint8_t v = 2; v <= 5; ++v)
        chain.push_back(
            sign_root(root_version(trust, v, static_cast<std::uint8_t>(100 + v)),
                      {static_cast<std::uint8_t>(v == 2 ? 1 : 100 + v - 1), static_cast<std::uint8_t>(100 + v)}));

    net::gossip::RolloutVerifier walker(trust.trust, [] { return kNow; });
    for (std::size_t i = 0; i < chain.size(); ++i) {
        const std::uint64_t version = i + 2;
        INFO("root v" << version);
        REQUIRE(walker.verify_record(root_header(version), bytes_of(chain[i]), version - 1));
        walker.set_root(crypto::verify_next_root(walker.root(), chain[i], kNow).value());
    }
    CHECK(walker.root().version == 5);

    // v3 signed by the key v1 trusts, but v2 never seen: not a next root.
    net::gossip::RolloutVerifier holder(trust.trust, [] { return kNow; });
    auto skipped = holder.verify_record(root_header(3), bytes_of(sign_root(root_version(trust, 3, 1), {1})), 1);
    REQUIRE_FALSE(skipped);
    CHECK(skipped.error().is(Errc::untrusted));
    CHECK_THAT(skipped.error().message(), Contains("versions may not be skipped"));

    const crypto::Envelope new_keys_only = sign_root(root_version(trust, 2, 102), {102});
    auto forged = holder.verify_record(root_header(2), bytes_of(new_keys_only), 1);
    REQUIRE_FALSE(forged);
    CHECK(forged.error().is(Errc::untrusted));
    CHECK(holder.root().version == 1);

    // The agent's own walk at start: a new-keys-only root-v2.env saved next to
    // the pinned root stops the agent, naming the file.
    testing::TempDir dir;
    const crypto::Envelope pinned = sign_root(trust.trust, {1});
    REQUIRE(write_file_atomic(
        dir / "root.env",
        std::string_view(reinterpret_cast<const char*>(bytes_of(pinned).data()), bytes_of(pinned).size()), 0644));
    std::filesystem::create_directories(dir / "roots");
    const auto forged_bytes = bytes_of(new_keys_only);
    REQUIRE(write_file_atomic(dir / "roots" / "root-v2.env",
                              std::string_view(reinterpret_cast<const char*>(forged_bytes.data()), forged_bytes.size()),
                              0600));
    auto loaded = agent::load_trust_root(dir / "root.env", dir / "roots", kNow);
    REQUIRE_FALSE(loaded);
    CHECK(loaded.error().is(Errc::untrusted));
    CHECK_THAT(loaded.error().message(), Contains("root-v2.env"));
}

TEST_CASE("attack 10: malleated signatures, trailing bytes, reordered and duplicated fields are refused",
          "[adversarial]") {
    TestTrust trust;
    const crypto::Envelope genuine = trust.sign_release(manifest());
    REQUIRE(rollout::verify_manifest(genuine, trust.trust, kNow, 0));

    // Malleated S on one of the two release signatures: below the threshold.
    crypto::Envelope malleated = genuine;
    malleate(malleated.signatures[1].signature);
    auto refused = rollout::verify_manifest(malleated, trust.trust, kNow, 0);
    REQUIRE_FALSE(refused);
    CHECK_THAT(refused.error().message(), Contains("1 of 2 required signatures (1 invalid)"));

    // A byte after the envelope: the decoder refuses it, and so does gossip.
    std::vector<std::uint8_t> trailing = bytes_of(genuine);
    trailing.push_back(0);
    CHECK_FALSE(crypto::Envelope::decode(trailing));
    net::gossip::RolloutVerifier verifier(trust.trust, [] { return kNow; });
    const net::gossip::RecordHeader header{{net::gossip::RecordType::manifest, {}, "2026-11-B"}, 3};
    CHECK(verifier.verify_record(header, bytes_of(genuine), 0));
    CHECK_FALSE(verifier.verify_record(header, trailing, 0));

    // The same JSON with its fields in another order is other bytes: the
    // signatures cover the bytes, never a re-serialization.
    const auto ordered = nlohmann::ordered_json::parse(genuine.body);
    nlohmann::ordered_json reversed = nlohmann::ordered_json::object();
    std::vector<std::pair<std::string, nlohmann::ordered_json>> fields;
    for (const auto& item : ordered.items())
        fields.emplace_back(item.key(), item.value());
    for (auto it = fields.rbegin(); it != fields.rend(); ++it)
        reversed[it->first] = it->second;
    crypto::Envelope reordered = genuine;
    reordered.body = reversed.dump();
    REQUIRE(reordered.body != genuine.body);
    REQUIRE(rollout::Manifest::parse_json(reordered.body).value() == manifest());
    auto reordered_refused = rollout::verify_manifest(reordered, trust.trust, kNow, 0);
    REQUIRE_FALSE(reordered_refused);
    CHECK_THAT(reordered_refused.error().message(), Contains("0 of 2 required signatures"));

    // A duplicated "version": refused unsigned (signatures) and, when a
    // release signer was tricked into signing it, refused as malformed: two
    // parsers could read two versions, so nobody reads any.
    std::string duplicated = genuine.body;
    duplicated.insert(1, "\"version\":1000,");
    crypto::Envelope appended = genuine;
    appended.body = duplicated;
    CHECK_FALSE(rollout::verify_manifest(appended, trust.trust, kNow, 0));
    crypto::Envelope resigned{std::string(rollout::Manifest::kEnvelopeType), duplicated, {}};
    resigned.sign(trust.release[0]);
    resigned.sign(trust.release[1]);
    auto ambiguous = rollout::verify_manifest(resigned, trust.trust, kNow, 0);
    REQUIRE_FALSE(ambiguous);
    CHECK(ambiguous.error().is(Errc::untrusted));
    CHECK_THAT(ambiguous.error().message(), Contains("version"));
}

TEST_CASE("attack 11: a status record's signature presented as a control record is refused (domain separation)",
          "[adversarial]") {
    // The worst case: the operator key is also some agent's key. It signs a
    // status-typed envelope whose body is a control record ("abort"); the
    // attacker relabels it patchwave.control. The signature covers the type,
    // so it verifies for nothing; a plain status envelope fails on its type.
    TestTrust trust;
    const rollout::ControlRecord abort = control(rollout::ControlAction::abort, 9, 0);
    crypto::Envelope as_status{std::string(rollout::StatusRecord::kEnvelopeType), abort.to_json(), {}};
    as_status.sign(trust.operators[0]);
    crypto::Envelope relabelled = as_status;
    relabelled.type = std::string(rollout::ControlRecord::kEnvelopeType);
    auto refused = rollout::verify_control(relabelled, trust.trust, "2026-11-B", 0);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().is(Errc::untrusted));
    CHECK_THAT(refused.error().message(), Contains("0 of 1 required signatures (1 invalid)"));
    // The control record signed as what it is passes: the key was never the problem.
    CHECK(rollout::verify_control(abort.sign(trust.operators[0]), trust.trust, "2026-11-B", 0));

    const crypto::Envelope status = status_of(trust.operators[0], 9).sign(trust.operators[0]);
    auto wrong_type = rollout::verify_control(status, trust.trust, "2026-11-B", 0);
    REQUIRE_FALSE(wrong_type);
    CHECK(wrong_type.error().is(Errc::untrusted));

    // Gossip refuses both under a control header, before anything is stored.
    net::gossip::RolloutVerifier verifier(trust.trust, [] { return kNow; });
    const net::gossip::RecordHeader header{{net::gossip::RecordType::control, {}, "2026-11-B"}, 9};
    CHECK_FALSE(verifier.verify_record(header, bytes_of(relabelled), 0));
    CHECK_FALSE(verifier.verify_record(header, bytes_of(status), 0));
}
