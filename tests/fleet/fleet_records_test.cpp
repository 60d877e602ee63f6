// FleetMember's records: headers derived from signed documents, records saved
// to records_dir and acted on after a restart, trust-root rotation adopted.
#include <catch2/catch.hpp>

#include "common/file_io.hpp"
#include "fleet_harness.hpp"
#include "rollout/control_record.hpp"
#include "rollout/status_record.hpp"

using namespace patchwave;
using namespace patchwave::net;
using namespace patchwave::net::testing;

namespace {

gossip::Bytes encode(const crypto::Envelope& envelope) {
    return *envelope.encode();
}

/// Root v2: the operator role moves to a new key (test_key(60)), signed by the root key.
crypto::Envelope root_v2(const rollout::testing::TestTrust& trust) {
    crypto::TrustRoot next = trust.trust;
    next.version = 2;
    next.role(crypto::Role::operator_) = {{rollout::testing::test_key(60).public_key()}, 1};
    const crypto::PrivateKey* signers[] = {&trust.root};
    return *crypto::TrustRoot::sign(next, signers);
}

crypto::Envelope control(const std::string& rollout_id, std::uint64_t sequence, const crypto::PrivateKey& key) {
    rollout::ControlRecord record;
    record.rollout_id = rollout_id;
    record.sequence = sequence;
    record.action = rollout::ControlAction::pause;
    record.reason = "test";
    record.operator_name = "test";
    record.time = gossip::testing::fixture_now();
    return record.sign(key);
}

}  // namespace

TEST_CASE("the gossip header is derived from the signed document", "[fleet]") {
    rollout::testing::TestTrust trust;
    auto manifest = record_header_of(gossip::testing::manifest_envelope(trust, "2026-11-C", 7));
    REQUIRE(manifest);
    CHECK(*manifest == gossip::RecordHeader{{gossip::RecordType::manifest, {}, "2026-11-C"}, 7});

    auto control_header = record_header_of(encode(control("2026-11-C", 3, trust.operators[0])));
    REQUIRE(control_header);
    CHECK(*control_header == gossip::RecordHeader{{gossip::RecordType::control, {}, "2026-11-C"}, 3});

    auto root = record_header_of(encode(root_v2(trust)));
    REQUIRE(root);
    CHECK(*root == gossip::RecordHeader{{gossip::RecordType::root, {}, ""}, 2});

    auto certificate = record_header_of(gossip::testing::member_certificate(trust, 3));
    REQUIRE(certificate);
    CHECK(certificate->key.type == gossip::RecordType::certificate);
    CHECK(certificate->key.origin == gossip::testing::member_key(3).public_key().id());
    CHECK(certificate->version
          == static_cast<std::uint64_t>(rollout::testing::at("2026-01-01T00:00:00Z").time_since_epoch().count()));

    rollout::StatusRecord status;
    status.agent = gossip::testing::member_key(3).public_key().id();
    status.sequence = 12;
    status.boot_id = "b";
    status.time = gossip::testing::fixture_now();
    auto status_header = record_header_of(encode(status.sign(gossip::testing::member_key(3))));
    REQUIRE(status_header);
    CHECK(*status_header == gossip::RecordHeader{{gossip::RecordType::status, status.agent, ""}, 12});

    crypto::Envelope other{"patchwave.approval", "{}", {}};
    auto refused = record_header_of(encode(other));
    REQUIRE_FALSE(refused);
    CHECK(refused.error().is(Errc::parse));
    CHECK_THAT(refused.error().message(), Catch::Contains("patchwave.approval"));
}

TEST_CASE("a manifest survives a restart through records_dir and is acted on before gossip", "[fleet]") {
    Fleet fleet;
    REQUIRE(fleet.start(0, MemberOptions{}.collector().persist()));
    REQUIRE(fleet.join(0));
    REQUIRE(fleet.start(1, MemberOptions{}.seeds({fleet.gossip_of(0)}).persist()));
    REQUIRE(fleet.join(1));
    REQUIRE(fleet[0].publish(fleet.manifest("2026-11-B", 5)));
    REQUIRE(run_until(
        fleet.io, [&] { return fleet.seen(1).has(gossip::RecordType::manifest, "2026-11-B", 5); }, 10s));
    const auto saved = fleet.records_dir(1) / "manifest-2026-11-B.env";
    REQUIRE(fs::exists(saved));
    auto bytes = read_file(saved, 1 << 20);
    REQUIRE(bytes);
    CHECK(gossip::Bytes(bytes->begin(), bytes->end()) == fleet.manifest("2026-11-B", 5));

    // Both go away; member 1 comes back alone: the saved manifest is stored
    // and reported by join() although nobody is there to gossip it.
    fleet.remove(0);
    fleet.remove(1);
    REQUIRE(fleet.start(1, MemberOptions{}.persist()));
    CHECK(fleet.seen(1).records.empty());
    REQUIRE(fleet.join(1));
    CHECK(fleet.seen(1).has(gossip::RecordType::manifest, "2026-11-B", 5));
    CHECK(fleet[1].node().records().version_of({gossip::RecordType::manifest, {}, "2026-11-B"}) == 5);

    // A status record is never saved, and a newer manifest replaces the file.
    REQUIRE(fleet[1].publish(fleet.manifest("2026-11-B", 6)));
    bytes = read_file(saved, 1 << 20);
    REQUIRE(bytes);
    CHECK(gossip::Bytes(bytes->begin(), bytes->end()) == fleet.manifest("2026-11-B", 6));
    rollout::StatusRecord status;
    status.agent = gossip::testing::member_key(1).public_key().id();
    status.sequence = 1;
    status.boot_id = "b";
    status.time = fleet.now;
    REQUIRE(fleet[1].publish(encode(status.sign(gossip::testing::member_key(1)))));
    std::size_t files = 0;
    for (const auto& entry : fs::directory_iterator(fleet.records_dir(1))) {
        CHECK(entry.path().filename().string().rfind("status", 0) == std::string::npos);
        ++files;
    }
    CHECK(files == 1);
}

TEST_CASE("saved records that no longer verify are dropped at restart", "[fleet]") {
    Fleet fleet;
    REQUIRE(fleet.start(0, MemberOptions{}.collector().persist()));
    REQUIRE(fleet.join(0));
    REQUIRE(fleet[0].publish(fleet.manifest("2026-11-B", 2)));
    REQUIRE(fs::exists(fleet.records_dir(0) / "manifest-2026-11-B.env"));
    // Junk and a file that is not what its name says are dropped too.
    REQUIRE(write_file_atomic(fleet.records_dir(0) / "manifest-junk.env", "not an envelope", 0644));
    REQUIRE(write_file_atomic(fleet.records_dir(0) / "README", "kept: not a record file", 0644));
    fleet.remove(0);

    // Past the manifest's expiry (2026-12-24), before the member certificates' (2027-01-01).
    fleet.now = rollout::testing::at("2026-12-25T00:00:00Z");
    REQUIRE(fleet.start(0, MemberOptions{}.collector().persist()));
    REQUIRE(fleet.join(0));
    CHECK(fleet.seen(0).records.empty());
    CHECK_FALSE(fs::exists(fleet.records_dir(0) / "manifest-2026-11-B.env"));
    CHECK_FALSE(fs::exists(fleet.records_dir(0) / "manifest-junk.env"));
    CHECK(fs::exists(fleet.records_dir(0) / "README"));
}

TEST_CASE("a newer root is adopted by every member and checks what follows", "[fleet]") {
    Fleet fleet;
    REQUIRE(fleet.start(0, MemberOptions{}.collector().persist()));
    REQUIRE(fleet.join(0));
    REQUIRE(fleet.start(1, MemberOptions{}.seeds({fleet.gossip_of(0)}).persist()));
    REQUIRE(fleet.join(1));
    const crypto::PrivateKey new_operator = rollout::testing::test_key(60);

    // Under root v1 the new operator key signs nothing that counts.
    auto early = fleet[0].publish(encode(control("2026-11-B", 1, new_operator)));
    REQUIRE_FALSE(early);
    CHECK(early.error().is(Errc::untrusted));

    REQUIRE(fleet[0].publish(encode(root_v2(fleet.trust))));
    CHECK(fleet.seen(0).roots == std::vector<std::uint64_t>{2});
    CHECK(fleet[0].root().version == 2);
    REQUIRE(run_until(
        fleet.io, [&] { return !fleet.seen(1).roots.empty(); }, 10s));
    CHECK(fleet.seen(1).roots == std::vector<std::uint64_t>{2});
    CHECK(fleet[1].root().version == 2);
    CHECK(fs::exists(fleet.records_dir(1) / "root-v2.env"));

    // Member 1's verifier now trusts the new operator key, and no longer the old one.
    REQUIRE(fleet[0].publish(encode(control("2026-11-B", 1, new_operator))));
    REQUIRE(run_until(
        fleet.io, [&] { return fleet.seen(1).has(gossip::RecordType::control, "2026-11-B", 1); }, 10s));
    auto old_key = fleet[1].publish(encode(control("2026-11-B", 2, fleet.trust.operators[0])));
    REQUIRE_FALSE(old_key);
    CHECK(old_key.error().is(Errc::untrusted));

    // Restarted with only v1 pinned, member 1 walks to v2 from its saved records
    // and then accepts the control record saved beside it.
    fleet.remove(0);
    fleet.remove(1);
    REQUIRE(fleet.start(1, MemberOptions{}.persist()));
    CHECK(fleet[1].root().version == 1);
    REQUIRE(fleet.join(1));
    CHECK(fleet.seen(1).roots == std::vector<std::uint64_t>{2});
    CHECK(fleet[1].root().version == 2);
    CHECK(fleet.seen(1).has(gossip::RecordType::control, "2026-11-B", 1));

    // Pinned at v2 already, the saved v2 is superseded: dropped, not re-adopted.
    fleet.remove(1);
    auto v2 = crypto::verify_next_root(fleet.trust.trust, root_v2(fleet.trust), fleet.now);
    REQUIRE(v2);
    REQUIRE(fleet.start(1, MemberOptions{}.persist().root(*v2)));
    REQUIRE(fleet.join(1));
    CHECK(fleet.seen(1).roots.empty());
    CHECK_FALSE(fs::exists(fleet.records_dir(1) / "root-v2.env"));
    CHECK(fleet.seen(1).has(gossip::RecordType::control, "2026-11-B", 1));
}
