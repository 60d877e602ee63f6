// FleetMember on real sockets: joining, records spreading, bundles found
// through peer hints alone, the hint's cap, join retries, stopping.
#include <fstream>

#include <catch2/catch.hpp>
#include <unistd.h>

#include "common/file_io.hpp"
#include "fleet_harness.hpp"
#include "net/bundle_torrent.hpp"

using namespace patchwave;
using namespace patchwave::net;
using namespace patchwave::net::testing;

namespace {

// A bundle directory of `size` pseudo-random bytes, fixed by `seed`.
fs::path make_bundle(const fs::path& dir, std::size_t size, unsigned seed) {
    fs::create_directories(dir);
    std::string bytes(size, '\0');
    std::uint32_t state = seed * 2654435761u + 1;
    for (auto& byte : bytes) {
        state = state * 1664525u + 1013904223u;
        byte = static_cast<char>(state >> 24);
    }
    std::ofstream(dir / "payload.bin", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(size));
    std::ofstream(dir / "bundle.toml") << "name = \"b" << seed << "\"\n";
    return dir;
}

}  // namespace

TEST_CASE("three members join and a manifest published by one reaches the others", "[fleet]") {
    Fleet fleet;
    REQUIRE(fleet.start(0, MemberOptions{}.collector()));
    REQUIRE(fleet.join(0));
    REQUIRE(fleet.start(1, MemberOptions{}.seeds({fleet.gossip_of(0)})));
    REQUIRE(fleet.start(2, MemberOptions{}.seeds({fleet.gossip_of(0)})));
    REQUIRE(fleet.join(1));
    REQUIRE(fleet.join(2));
    REQUIRE(run_until(
        fleet.io,
        [&] {
            return fleet[0].node().members().live_count() == 3 && fleet[1].node().members().live_count() == 3
                   && fleet[2].node().members().live_count() == 3;
        },
        10s));

    // Published by a member that is not the one the others joined through.
    REQUIRE(fleet[1].publish(fleet.manifest("2026-11-B", 4)));
    CHECK(fleet.seen(1).has(gossip::RecordType::manifest, "2026-11-B", 4));  // the publisher's own on_record
    REQUIRE(run_until(
        fleet.io,
        [&] {
            return fleet.seen(0).has(gossip::RecordType::manifest, "2026-11-B", 4)
                   && fleet.seen(2).has(gossip::RecordType::manifest, "2026-11-B", 4);
        },
        10s));
    // Publishing the same version again is refused as already held.
    auto again = fleet[2].publish(fleet.manifest("2026-11-B", 4));
    REQUIRE_FALSE(again);
    CHECK(again.error().is(Errc::state));
    // Not a signed record: refused before gossip sees it.
    const gossip::Bytes junk{1, 2, 3};
    CHECK_FALSE(fleet[2].publish(junk));
}

TEST_CASE("a bundle seeded by one member is fetched by another from gossip peer hints alone", "[fleet]") {
    Fleet fleet;
    REQUIRE(fleet.start(0, MemberOptions{}.collector()));
    REQUIRE(fleet.join(0));
    const auto bundle_dir = make_bundle(fleet.temp.path() / "bundle", 3 * 1024 * 1024 + 123, 1);
    auto id = fleet[0].seed(bundle_dir, {});
    REQUIRE(id);
    CHECK(fleet[0].advertised() == std::vector<rollout::BundleId>{*id});

    REQUIRE(fleet.start(1, MemberOptions{}.seeds({fleet.gossip_of(0)})));
    REQUIRE(fleet.join(1));
    REQUIRE(run_until(
        fleet.io, [&] { return !fleet[1].node().peers_seeding(*id).empty(); }, 10s));
    const auto advertised = fleet[1].node().peers_seeding(*id);
    REQUIRE(advertised.size() == 1);
    CHECK(gossip::to_endpoint(advertised[0].second) == fleet[0].swarm_endpoint());

    // No torrent and no peers given: metadata and payload come from the peer the hint names.
    const auto staging = fleet.temp.path() / "staging";
    REQUIRE(fleet[1].fetch(*id, staging, {}));
    REQUIRE(run_until(
        fleet.io, [&] { return !fleet.seen(1).ready.empty(); }, 30s));
    CHECK(fleet.seen(1).ready[0] == *id);
    CHECK(verify_bundle_directory(staging, *id));
    // Once ready, the fetcher advertises it too, and a third member sees both.
    CHECK(fleet[1].advertised() == std::vector<rollout::BundleId>{*id});
    REQUIRE(fleet.start(2, MemberOptions{}.seeds({fleet.gossip_of(1)})));
    REQUIRE(fleet.join(2));
    REQUIRE(run_until(
        fleet.io, [&] { return fleet[2].node().peers_seeding(*id).size() == 2; }, 10s));

    // forget drops it from the hint.
    REQUIRE(fleet[1].forget(*id));
    CHECK(fleet[1].advertised().empty());
    REQUIRE(run_until(
        fleet.io, [&] { return fleet[2].node().peers_seeding(*id).size() == 1; }, 10s));
}

TEST_CASE("a fetch started before any member advertises the bundle picks up peers as they appear", "[fleet]") {
    Fleet fleet;
    REQUIRE(fleet.start(0, MemberOptions{}.collector()));
    REQUIRE(fleet.join(0));
    REQUIRE(fleet.start(1, MemberOptions{}.seeds({fleet.gossip_of(0)})));
    REQUIRE(fleet.join(1));
    const auto bundle_dir = make_bundle(fleet.temp.path() / "bundle", 512 * 1024, 2);
    auto torrent = build_bundle_torrent(bundle_dir);
    REQUIRE(torrent);
    const auto staging = fleet.temp.path() / "staging";
    REQUIRE(fleet[1].fetch(torrent->id, staging, {}));
    run_for(fleet.io, 500ms);
    CHECK(fleet.seen(1).ready.empty());  // nobody has it yet

    REQUIRE(fleet[0].seed(bundle_dir, {}));
    REQUIRE(run_until(
        fleet.io, [&] { return !fleet.seen(1).ready.empty(); }, 30s));
    CHECK(verify_bundle_directory(staging, torrent->id));
}

TEST_CASE("the peer hint advertises the 16 most recent bundles", "[fleet]") {
    Fleet fleet;
    REQUIRE(fleet.start(0, MemberOptions{}.collector()));
    REQUIRE(fleet.join(0));
    std::vector<rollout::BundleId> ids;
    for (unsigned i = 0; i < gossip::PeerHint::kMaxSeeding + 1; ++i) {
        auto id = fleet[0].seed(make_bundle(fleet.temp.path() / ("b" + std::to_string(i)), 20'000 + i, 10 + i), {});
        REQUIRE(id);
        ids.push_back(*id);
    }
    const auto advertised = fleet[0].advertised();
    REQUIRE(advertised.size() == gossip::PeerHint::kMaxSeeding);
    CHECK(advertised == std::vector<rollout::BundleId>(ids.begin() + 1, ids.end()));
    // Seeding the oldest again makes it the most recent.
    REQUIRE(fleet[0].seed(fleet.temp.path() / "b0", {}));
    CHECK(fleet[0].advertised().back() == ids[0]);
    CHECK(fleet[0].advertised().front() == ids[2]);

    REQUIRE(fleet.start(1, MemberOptions{}.seeds({fleet.gossip_of(0)})));
    REQUIRE(fleet.join(1));
    REQUIRE(run_until(
        fleet.io, [&] { return fleet[1].node().peers_seeding(ids[0]).size() == 1; }, 10s));
    CHECK(fleet[1].node().peers_seeding(ids[1]).empty());
}

TEST_CASE("join keeps retrying until a seed answers", "[fleet]") {
    Fleet fleet;
    // A fixed port (from the pid) so the seed can be named before it exists.
    const auto port = static_cast<std::uint16_t>(41000 + ::getpid() % 4000 * 2);
    REQUIRE(fleet.start(1, MemberOptions{}.seeds({loopback(40, port)})));
    bool joined = false;
    fleet[1].join([&](Status status) { joined = status.has_value(); });
    run_for(fleet.io, 1500ms);
    CHECK_FALSE(joined);
    REQUIRE(fleet.start(0, MemberOptions{}.collector().port(port)));
    REQUIRE(fleet.join(0));
    REQUIRE(run_until(
        fleet.io, [&] { return joined; }, 5s));
    REQUIRE(run_until(
        fleet.io, [&] { return fleet[0].node().members().live_count() == 2; }, 5s));
}

TEST_CASE("stop leaves the fleet quickly and others see the member leave", "[fleet]") {
    Fleet fleet;
    REQUIRE(fleet.start(0, MemberOptions{}.collector()));
    REQUIRE(fleet.join(0));
    REQUIRE(fleet.start(1, MemberOptions{}.seeds({fleet.gossip_of(0)})));
    REQUIRE(fleet.join(1));
    REQUIRE(run_until(
        fleet.io, [&] { return fleet[0].node().members().live_count() == 2; }, 10s));
    const auto begin = std::chrono::steady_clock::now();
    fleet[1].stop();
    CHECK(std::chrono::steady_clock::now() - begin < 2s);
    CHECK_FALSE(fleet[1].publish(fleet.manifest("after-stop", 1)));
    REQUIRE(run_until(
        fleet.io, [&] { return fleet[0].node().members().live_count() == 1; }, 5s));
}

TEST_CASE("start refuses a wildcard listen without an advertised address, and a busy address", "[fleet]") {
    Fleet fleet;
    FleetMemberConfig config;
    config.gossip_listen = rollout::Endpoint{"0.0.0.0", 0, rollout::Endpoint::Kind::ipv4};
    config.swarm.listen_address = "127.0.0.40";
    config.swarm.listen_port = 0;
    config.swarm.state_dir = fleet.temp.path() / "swarm";
    auto wildcard = FleetMember::start(fleet.io, config, fleet.trust.trust,
                                       gossip::testing::member_certificate(fleet.trust, 0), [&] { return fleet.now; });
    REQUIRE_FALSE(wildcard);
    CHECK(wildcard.error().is(Errc::invalid_argument));

    REQUIRE(fleet.start(0));
    config.gossip_listen = fleet.gossip_of(0);  // taken
    auto busy = FleetMember::start(fleet.io, config, fleet.trust.trust,
                                   gossip::testing::member_certificate(fleet.trust, 1), [&] { return fleet.now; });
    REQUIRE_FALSE(busy);
    CHECK(busy.error().is(Errc::io));
    CHECK_THAT(busy.error().message(), Catch::Contains(rollout::format_endpoint(config.gossip_listen)));

    // A certificate the root did not sign is refused.
    rollout::testing::TestTrust other;
    other.enrollment = rollout::testing::test_key(99);
    config.gossip_listen = loopback(41);
    auto stranger = FleetMember::start(fleet.io, config, fleet.trust.trust,
                                       gossip::testing::member_certificate(other, 1), [&] { return fleet.now; });
    REQUIRE_FALSE(stranger);
    CHECK(stranger.error().is(Errc::untrusted));
}
