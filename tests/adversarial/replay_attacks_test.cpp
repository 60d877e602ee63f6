// Attacks with genuinely signed but wrong documents (docs/security.md rows 3-7
// and 12): replays, expired manifests and wrong clocks, a fast-forward by a
// compromised release key, mix-and-match, another label set, a stale advance.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "adversary.hpp"
#include "agent/eligibility.hpp"
#include "agent/journal.hpp"
#include "agent/replay_floors.hpp"
#include "agent/trusted_time.hpp"
#include "net/gossip/record_store.hpp"
#include "net/gossip/rollout_verifier.hpp"
#include "support/temp_dir.hpp"

using namespace patchwave;
using namespace patchwave::adversary;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using rollout::testing::test_key;
namespace gossip = patchwave::net::gossip;

namespace {

gossip::RecordPtr record_of(const crypto::Envelope& envelope, gossip::RecordType type, std::string id,
                            std::uint64_t version) {
    return std::make_shared<const gossip::Record>(
        gossip::Record{{{type, {}, std::move(id)}, version}, bytes_of(envelope)});
}

// A root whose release role is the one key `release` (threshold 1), v`version`.
crypto::TrustRoot with_release(const TestTrust& trust, std::vector<std::uint8_t> release, std::uint64_t version) {
    crypto::TrustRoot root = trust.trust;
    root.version = version;
    root.role(crypto::Role::release).keys.clear();
    for (auto n : release)
        root.role(crypto::Role::release).keys.push_back(test_key(n).public_key());
    root.role(crypto::Role::release).threshold = 1;
    return root;
}

crypto::Envelope signed_by(const rollout::Manifest& m, std::uint8_t key) {
    return m.sign(test_key(key));
}

agent::HostFacts host(std::string ring) {
    agent::HostFacts facts;
    facts.agent = test_key(60).public_key().id();
    facts.labels = {{"ring", std::move(ring)}};
    return facts;
}

// The agent's floor check: is `version` of the sample rollout below the floor?
bool below_floor(const agent::JournalState& state, const crypto::TrustRoot& root, std::uint64_t version) {
    return version < agent::replay_floor(state.manifest_key_floors, state.manifest_versions, "2026-11-B",
                                         root.role(crypto::Role::release).keys);
}

}  // namespace

TEST_CASE("attack 3: a replayed older manifest is refused, also after the agent restarts", "[adversarial]") {
    // The agent accepted v3. An attacker replays v2 (genuinely signed, still
    // unexpired): gossip drops it as stale, and relabelled "v5" the verifier
    // reads the signed version and refuses it as a rollback. The floor is
    // in the journal, so a restarted agent (journal read back from disk)
    // refuses it too.
    TestTrust trust;
    const crypto::Envelope v2 = trust.sign_release(manifest(2));
    const crypto::Envelope v3 = trust.sign_release(manifest(3));

    gossip::RolloutVerifier verifier(trust.trust, [] { return kNow; });
    gossip::RecordStore store(verifier, 100, 1 << 20);
    REQUIRE(store.offer(record_of(v3, gossip::RecordType::manifest, "2026-11-B", 3)).value()
            == gossip::OfferResult::stored);
    CHECK(store.offer(record_of(v2, gossip::RecordType::manifest, "2026-11-B", 2)).value()
          == gossip::OfferResult::stale);
    auto relabelled = store.offer(record_of(v2, gossip::RecordType::manifest, "2026-11-B", 5));
    REQUIRE_FALSE(relabelled);
    CHECK_THAT(relabelled.error().message(), Contains("rollback refused"));
    auto rollback = rollout::verify_manifest(v2, trust.trust, kNow, 3);
    REQUIRE_FALSE(rollback);
    CHECK_THAT(rollback.error().message(), Contains("rollback refused"));

    testing::TempDir dir;
    {
        auto journal = agent::Journal::open(dir / "journal.json").value();
        agent::JournalState next = journal.state();
        next.manifest_versions["2026-11-B"] = 3;
        agent::raise_floors(next.manifest_key_floors, "2026-11-B",
                            agent::valid_signers(v3, trust.trust, crypto::Role::release), 3);
        REQUIRE(journal.commit(next));
    }
    const auto restarted = agent::Journal::open(dir / "journal.json").value();
    CHECK(below_floor(restarted.state(), trust.trust, 2));
    CHECK_FALSE(below_floor(restarted.state(), trust.trust, 3));  // the one held is re-offered at start
    CHECK_FALSE(below_floor(restarted.state(), trust.trust, 4));

    // A journal from before floors were kept per key still holds its floor.
    auto legacy = nlohmann::json::parse(agent::to_json(restarted.state()));
    legacy.erase("manifest_key_floors");
    legacy.erase("control_key_floors");
    legacy.erase("trusted_boot_id");
    legacy.erase("trusted_boot_seconds");
    const auto old_journal = agent::journal_from_json(legacy.dump()).value();
    CHECK(old_journal.manifest_key_floors.empty());
    CHECK(below_floor(old_journal, trust.trust, 2));
}

TEST_CASE("attack 4: an expired manifest is refused, and a clock set back or far ahead does not change that",
          "[adversarial]") {
    TestTrust trust;
    const rollout::Manifest m = manifest();
    const crypto::Envelope signed_manifest = trust.sign_release(m);
    auto expired = rollout::verify_manifest(signed_manifest, trust.trust, m.expires, 0);
    REQUIRE_FALSE(expired);
    CHECK_THAT(expired.error().message(), Contains("expired at 2026-12-24T00:00:00Z"));
    const agent::Eligibility after = agent::evaluate_eligibility(m, nullptr, trust.trust, host("test"), m.expires + 1h);
    CHECK_FALSE(after.may_download);
    CHECK_THAT(after.reason, Contains("expired"));

    // The agent judges at max(clock, trusted time). Anchored a day after
    // expiry, an hour later with the clock set back a year, it still knows
    // the manifest expired: the trusted time moved on with the boot clock.
    agent::TrustedTimeInput input;
    input.anchor = m.expires + 24h;
    input.anchor_boot_id = input.boot_id = "boot-a";
    input.anchor_boot_seconds = 1000;
    input.boot_seconds = 1000 + 3600;
    input.clock = m.expires - 24h * 365;
    const Timestamp trusted = agent::trusted_time(input);
    CHECK(trusted == m.expires + 25h);
    CHECK(std::max(input.clock, trusted) >= m.expires);

    // A clock far ahead (a year) for an hour: the trusted time followed it by
    // at most twice the hour, so once the clock is right again the host
    // judges at most an hour ahead, not a year.
    input.anchor = m.published;
    input.anchor_boot_seconds = 0;
    input.boot_seconds = 3600;
    input.clock = m.published + 24h * 365;
    const Timestamp dragged = agent::trusted_time(input);
    CHECK(dragged == m.published + 2h);
    agent::TrustedTimeInput corrected = input;
    corrected.anchor = dragged;
    corrected.anchor_boot_seconds = 3600;
    corrected.boot_seconds = 3600;
    corrected.clock = m.published + 1h;  // the real time
    CHECK(agent::trusted_time(corrected) - corrected.clock == 1h);

    // A fresh agent whose clock is in 2020 starts from its certificate's issue time.
    agent::TrustedTimeInput fresh;
    fresh.boot_id = "boot-b";
    fresh.boot_seconds = 50;
    fresh.clock = at("2020-01-01T00:00:00Z");
    fresh.floor = m.expires + 1h;
    CHECK(agent::trusted_time(fresh) == m.expires + 1h);
    // After a reboot only the uptime is known to have passed.
    agent::TrustedTimeInput rebooted = input;
    rebooted.anchor = m.published;
    rebooted.boot_id = "boot-c";
    rebooted.boot_seconds = 600;
    rebooted.clock = at("2020-01-01T00:00:00Z");
    CHECK(agent::trusted_time(rebooted) == m.published + 10min);
}

TEST_CASE("attack 5: a version far ahead signed by a compromised release key stops binding once a rotation revokes it",
          "[adversarial]") {
    // Release key 10 leaks. The attacker signs v1000 of the rollout; agents
    // accept it (it is validly signed) and their floor jumps to 1000. The
    // operators rotate the release role to key 12 (root v2). From then on:
    // v1000 is no longer trusted (gossip drops it from its store), its floor
    // no longer counts, and the orchestrator's v3 signed by key 12 is taken.
    TestTrust trust;
    const crypto::TrustRoot v1 = with_release(trust, {10}, 1);
    const crypto::TrustRoot v2 = with_release(trust, {12}, 2);
    const crypto::Envelope legit_v2 = signed_by(manifest(2), 10);
    const crypto::Envelope attacker_v1000 = signed_by(manifest(1000), 10);
    const crypto::Envelope recovery_v3 = signed_by(manifest(3), 12);

    // The agent's floors.
    agent::JournalState state;
    agent::raise_floors(state.manifest_key_floors, "2026-11-B",
                        agent::valid_signers(legit_v2, v1, crypto::Role::release), 2);
    agent::raise_floors(state.manifest_key_floors, "2026-11-B",
                        agent::valid_signers(attacker_v1000, v1, crypto::Role::release), 1000);
    state.manifest_versions["2026-11-B"] = 1000;
    CHECK(below_floor(state, v1, 999));
    CHECK_FALSE(agent::still_signed(attacker_v1000, v2, crypto::Role::release));
    CHECK_FALSE(below_floor(state, v2, 3));
    agent::raise_floors(state.manifest_key_floors, "2026-11-B",
                        agent::valid_signers(recovery_v3, v2, crypto::Role::release), 3);
    CHECK(below_floor(state, v2, 2));                              // the new key's own floor protects from now on
    CHECK_FALSE(rollout::verify_manifest(legit_v2, v2, kNow, 0));  // and the revoked key signs nothing

    // Gossip's store.
    gossip::RolloutVerifier verifier(v1, [] { return kNow; });
    gossip::RecordStore store(verifier, 100, 1 << 20);
    REQUIRE(store.offer(record_of(attacker_v1000, gossip::RecordType::manifest, "2026-11-B", 1000)).value()
            == gossip::OfferResult::stored);
    verifier.set_root(v2);
    CHECK(store.offer(record_of(recovery_v3, gossip::RecordType::manifest, "2026-11-B", 3)).value()
          == gossip::OfferResult::stale);
    const auto dropped = store.drop_if(
        [&](const gossip::RecordPtr& record) { return !verifier.still_trusted(record->header, record->envelope); });
    REQUIRE(dropped.size() == 1);
    CHECK(dropped[0].version == 1000);
    CHECK(store.offer(record_of(recovery_v3, gossip::RecordType::manifest, "2026-11-B", 3)).value()
          == gossip::OfferResult::stored);
    auto again = store.offer(record_of(attacker_v1000, gossip::RecordType::manifest, "2026-11-B", 1000));
    REQUIRE_FALSE(again);
    CHECK(again.error().is(Errc::untrusted));
}

TEST_CASE("attack 5: floors per key keep replay protection when one of several release keys is revoked",
          "[adversarial]") {
    // Keys 10 and 11 both sign for release. v3 by 10, v4 by 11: v3 is a
    // replay. Revoking 11 lowers the floor to what 10 signed (3), never to 0.
    TestTrust trust;
    const crypto::TrustRoot both = with_release(trust, {10, 11}, 1);
    const crypto::TrustRoot only_10 = with_release(trust, {10}, 2);
    agent::JournalState state;
    agent::raise_floors(state.manifest_key_floors, "2026-11-B",
                        agent::valid_signers(signed_by(manifest(3), 10), both, crypto::Role::release), 3);
    agent::raise_floors(state.manifest_key_floors, "2026-11-B",
                        agent::valid_signers(signed_by(manifest(4), 11), both, crypto::Role::release), 4);
    CHECK(below_floor(state, both, 3));
    CHECK_FALSE(below_floor(state, only_10, 3));
    CHECK(below_floor(state, only_10, 2));
}

TEST_CASE("attack 6: one manifest's bundle ids with another's waves (mix-and-match) are refused", "[adversarial]") {
    // Manifest A carries the bundles, manifest B other waves. Splicing A's
    // bundles into B's body under either signature fails; a bundle is
    // judged only as the manifest that carries it lists it; a control record
    // of B does not steer A.
    TestTrust trust;
    rollout::Manifest a = manifest();
    rollout::Manifest b = manifest(1);
    b.rollout_id = "2026-12-A";
    b.bundles = {a.bundles[1]};
    b.waves = {b.waves[2]};
    const crypto::Envelope signed_a = trust.sign_release(a);
    const crypto::Envelope signed_b = trust.sign_release(b);

    rollout::Manifest spliced = b;
    spliced.bundles = a.bundles;
    for (const crypto::Envelope* donor : {&signed_a, &signed_b}) {
        crypto::Envelope forged = *donor;
        forged.body = spliced.to_json();
        auto refused = rollout::verify_manifest(forged, trust.trust, kNow, 0);
        REQUIRE_FALSE(refused);
        CHECK_THAT(refused.error().message(), Contains("0 of 2 required signatures"));
    }
    auto not_in_b = rollout::bundle_cleared_for_wave(b, a.bundles[0], 0, trust.trust);
    REQUIRE_FALSE(not_in_b);
    CHECK_THAT(not_in_b.error().message(), Contains("is not part of manifest \"2026-12-A\""));

    // Gossip: B's id with A's signed record is refused.
    gossip::RolloutVerifier verifier(trust.trust, [] { return kNow; });
    auto misfiled = verifier.verify_record({{gossip::RecordType::manifest, {}, "2026-12-A"}, 3}, bytes_of(signed_a), 0);
    REQUIRE_FALSE(misfiled);
    CHECK_THAT(misfiled.error().message(), Contains("is for rollout 2026-11-B"));
    // B's advance (all waves open) neither opens A's waves nor passes as A's.
    const rollout::ControlRecord advance_b = control(rollout::ControlAction::advance, 5, 2, "2026-12-A");
    const agent::Eligibility eligibility = agent::evaluate_eligibility(a, &advance_b, trust.trust, host("prod"), kNow);
    CHECK_FALSE(eligibility.may_download);
    CHECK_THAT(eligibility.reason, Contains("is not open yet"));
    CHECK_FALSE(rollout::verify_control(advance_b.sign(trust.operators[0]), trust.trust, "2026-11-B", 0));
}

TEST_CASE("attack 7: a bundle meant for another label set is never offered to this host", "[adversarial]") {
    // A rollout for ring=test only: a prod host is in none of its waves, so
    // it journals, fetches and runs nothing of it. Its labels come from its
    // signed certificate: relabelling itself ring=test breaks the signature.
    TestTrust trust;
    rollout::Manifest test_only = manifest();
    test_only.waves = {test_only.waves[0]};
    const agent::Eligibility eligibility =
        agent::evaluate_eligibility(test_only, nullptr, trust.trust, host("prod"), kNow);
    CHECK_FALSE(eligibility.wave.has_value());
    CHECK_FALSE(eligibility.may_download);
    CHECK_FALSE(eligibility.may_install);
    CHECK(eligibility.reason == "this host is in none of the rollout's waves");

    const crypto::PrivateKey agent_key = test_key(61);
    crypto::Envelope certificate = certificate_for(agent_key, "web-1", "prod").sign(trust.enrollment);
    REQUIRE(rollout::verify_certificate(certificate, trust.trust, kNow));
    rollout::AgentCertificate moved = certificate_for(agent_key, "web-1", "test");
    certificate.body = moved.to_json();
    auto refused = rollout::verify_certificate(certificate, trust.trust, kNow);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().is(Errc::untrusted));
    // Signed by its own agent key instead of enrollment: still no.
    CHECK_FALSE(rollout::verify_certificate(moved.sign(agent_key), trust.trust, kNow));
}

TEST_CASE("attack 12: a stale advance replayed after a pause is refused and the rollout stays paused",
          "[adversarial]") {
    // advance #2 opened wave 2, pause #3 stopped it. Replaying #2 (genuine
    // operator signature) is stale in gossip, a rollback to the verifier,
    // below the agent's journal floor, and the host stays paused.
    TestTrust trust;
    const crypto::Envelope advance = control(rollout::ControlAction::advance, 2, 1).sign(trust.operators[0]);
    const crypto::Envelope pause = control(rollout::ControlAction::pause, 3, 1).sign(trust.operators[0]);

    gossip::RolloutVerifier verifier(trust.trust, [] { return kNow; });
    gossip::RecordStore store(verifier, 100, 1 << 20);
    REQUIRE(store.offer(record_of(advance, gossip::RecordType::control, "2026-11-B", 2)));
    REQUIRE(store.offer(record_of(pause, gossip::RecordType::control, "2026-11-B", 3)).value()
            == gossip::OfferResult::stored);
    CHECK(store.offer(record_of(advance, gossip::RecordType::control, "2026-11-B", 2)).value()
          == gossip::OfferResult::stale);
    auto rollback = rollout::verify_control(advance, trust.trust, "2026-11-B", 3);
    REQUIRE_FALSE(rollback);
    CHECK(rollback.error().is(Errc::untrusted));

    agent::JournalState state;
    agent::raise_floors(state.control_key_floors, "2026-11-B",
                        agent::valid_signers(pause, trust.trust, crypto::Role::operator_), 3);
    CHECK(2 < agent::replay_floor(state.control_key_floors, state.control_sequences, "2026-11-B",
                                  trust.trust.role(crypto::Role::operator_).keys));

    const rollout::ControlRecord held = rollout::verify_control(pause, trust.trust, "2026-11-B", 0).value();
    const agent::Eligibility eligibility =
        agent::evaluate_eligibility(manifest(), &held, trust.trust, host("prod"), kNow);
    CHECK_FALSE(eligibility.may_download);
    CHECK_THAT(eligibility.reason, Contains("paused by alice"));
}
