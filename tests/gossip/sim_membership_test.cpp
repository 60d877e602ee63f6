// Failure detection and admission in the simulator: a crashed member is
// declared dead then forgotten, loss causes no false deaths, joins are
// admitted only with an enrolled certificate, leaves and restarts are seen.
#include <catch2/catch.hpp>

#include "net/gossip/wire.hpp"
#include "sim_support.hpp"

using namespace patchwave;
using namespace patchwave::net::gossip;
using namespace patchwave::net::gossip::testing;
using namespace std::chrono_literals;

TEST_CASE("membership detects a dead member, then forgets it", "[gossip]") {
    // Every survivor declares the crashed member dead within a minute, and forgets it after dead_retention.
    sim::ClusterOptions options;
    options.members = 300;
    options.seed = 31;
    options.node.dead_retention = std::chrono::minutes(2);
    auto cluster = make_cluster(options);
    cluster->network().run_for(5s);
    const MemberId victim = cluster->id(17);
    cluster->kill(17);
    bool detected =
        cluster->network().run_until_true([&] { return cluster->seeing(17, MemberState::dead) == 299; }, 100ms, 60s);
    CHECK(detected);
    CHECK(cluster->seeing(17, MemberState::alive) == 0);
    cluster->network().run_for(std::chrono::minutes(3));
    std::size_t remembering = 0;
    for (std::size_t i = 0; i < cluster->size(); ++i) {
        if (cluster->node(i) != nullptr && cluster->node(i)->members().find(victim) != nullptr) ++remembering;
    }
    CHECK(remembering == 0);
    CHECK(cluster->fully_connected() == 299);
}

TEST_CASE("membership has no false dead under 10% loss over a long run", "[gossip]") {
    // Ten simulated minutes of 10% datagram loss: suspicions happen and are refuted, nobody is declared dead.
    sim::ClusterOptions options;
    options.members = 200;
    options.seed = 32;
    options.network.loss = 0.10;
    auto cluster = make_cluster(options);
    std::size_t deaths = 0;
    std::size_t suspicions = 0;
    for (std::size_t i = 0; i < cluster->size(); ++i) {
        cluster->node(i)->on_member = [&](const MemberEvent& event) {
            deaths += event.state == MemberState::dead ? 1 : 0;
            suspicions += event.state == MemberState::suspect ? 1 : 0;
        };
    }
    cluster->network().run_for(std::chrono::minutes(10));
    CHECK(deaths == 0);
    // At any instant some members are under suspicion (that is loss at work),
    // but none is dead in anyone's view.
    for (std::size_t i = 0; i < cluster->size(); ++i)
        CHECK(cluster->seeing(i, MemberState::dead) == 0);
    // The run did stress the detector: loss made members suspect each other.
    CHECK(suspicions > 0);
}

TEST_CASE("a cold fleet joins through one seed and converges on membership and records", "[gossip]") {
    // 200 members join one after another through member 0, learn each other's certificates, and get a record.
    sim::ClusterOptions options;
    options.members = 200;
    options.seed = 33;
    options.warm_start = false;
    auto cluster = make_cluster(options);
    auto header = manifest_header("r-cold", 1);
    publish_fake(*cluster, 0, header);
    bool converged = cluster->network().run_until_true(
        [&] { return cluster->fully_connected() == 200 && cluster->holding(header.key, 1) == 200; }, 100ms,
        std::chrono::minutes(2));
    CHECK(converged);
    CHECK(cluster->joins_failed() == 0);
}

TEST_CASE("a member whose certificate does not verify is never admitted", "[gossip]") {
    // Its join is refused, and its own gossip about itself does not get it into anyone's member list.
    sim::ClusterOptions options;
    options.members = 50;
    options.seed = 34;
    auto cluster = make_cluster(options);
    cluster->network().run_for(3s);

    // An outsider with a certificate not signed by the enrollment key.
    const std::uint32_t outsider = cluster->network().add_endpoint();
    sim::FakeVerifier verifier;
    const MemberId outsider_id = sim::fake_member_id(999);
    NodeConfig config;
    config.certificate = sim::fake_certificate(outsider_id, /*forged=*/true);
    CHECK_FALSE(Node::create(config, cluster->network().transport(outsider), cluster->network().clock(), verifier));

    // It talks anyway, with a hand-made join and alive announcements.
    MemberEntry self;
    self.id = outsider_id;
    self.address = Address::for_sim_index(outsider);
    auto join = encode_stream_message(JoinRequest{self, config.certificate});
    REQUIRE(join);
    std::optional<Result<Bytes>> answer;
    cluster->network().transport(outsider).exchange(Address::for_sim_index(0), *join, 5s,
                                                    [&](Result<Bytes> reply) { answer = std::move(reply); });
    auto alive = encode_item(AliveItem{self});
    REQUIRE(alive);
    for (std::uint32_t i = 0; i < 50; ++i) {
        cluster->network().transport(outsider).send_datagram(Address::for_sim_index(i),
                                                             encode_datagram(Gossip{}, {*alive}));
    }
    cluster->network().run_for(30s);
    REQUIRE(answer.has_value());
    REQUIRE(*answer);
    auto reply = decode_stream_message(**answer);
    REQUIRE(reply);
    CHECK(std::holds_alternative<Refused>(*reply));
    for (std::size_t i = 0; i < cluster->size(); ++i) {
        CHECK(cluster->node(i)->members().find(outsider_id) == nullptr);
    }
    CHECK(cluster->node(0)->stats().members_refused >= 1);
}

TEST_CASE("a member that leaves is seen as left, not dead, and is not suspected", "[gossip]") {
    // A graceful leave spreads as such; nobody wastes probes or suspicion on it.
    sim::ClusterOptions options;
    options.members = 100;
    options.seed = 35;
    auto cluster = make_cluster(options);
    cluster->network().run_for(3s);
    cluster->node(9)->leave();
    bool seen =
        cluster->network().run_until_true([&] { return cluster->seeing(9, MemberState::left) == 99; }, 100ms, 20s);
    CHECK(seen);
    CHECK(cluster->seeing(9, MemberState::dead) == 0);
}

TEST_CASE("a member restarted after being declared dead rejoins and refutes its death", "[gossip]") {
    // The new process starts at incarnation 0, learns it was dead at a higher one, and overtakes it.
    sim::ClusterOptions options;
    options.members = 100;
    options.seed = 36;
    options.node.dead_retention = std::chrono::minutes(30);
    auto cluster = make_cluster(options);
    cluster->network().run_for(3s);
    cluster->kill(42);
    REQUIRE(
        cluster->network().run_until_true([&] { return cluster->seeing(42, MemberState::dead) == 99; }, 100ms, 60s));
    // Restart: same identity, same address, fresh state.
    cluster->network().set_down(42, false);
    sim::FakeVerifier verifier;
    NodeConfig config;
    config.certificate = sim::fake_certificate(cluster->id(42));
    config.seed = 4242;
    auto node = Node::create(config, cluster->network().transport(42), cluster->network().clock(), verifier);
    REQUIRE(node);
    std::optional<Status> joined;
    (*node)->join({Address::for_sim_index(0)}, [&](Status status) { joined = status; });
    bool back =
        cluster->network().run_until_true([&] { return cluster->seeing(42, MemberState::alive) == 99; }, 100ms, 60s);
    CHECK(back);
    REQUIRE(joined.has_value());
    CHECK(joined->has_value());
    CHECK((*node)->members().self().incarnation > 0);
    CHECK((*node)->members().live_count() == 100);
    node->reset();  // before the cluster's network goes away
}

TEST_CASE("peer hints spread: every member learns who seeds a bundle and at which swarm endpoint", "[gossip]") {
    // Member 3 advertises an endpoint and a bundle; all 100 members list it as a peer for that bundle.
    sim::ClusterOptions options;
    options.members = 100;
    options.seed = 37;
    auto cluster = make_cluster(options);
    cluster->network().run_for(2s);
    rollout::BundleId bundle{};
    bundle.fill(0x42);
    PeerHint hint;
    hint.swarm_endpoint = Address::ipv4({10, 1, 2, 3}, 6881);
    hint.seeding = {bundle};
    REQUIRE(cluster->node(3)->set_hint(hint));
    auto knows = [&](std::size_t i) {
        auto peers = cluster->node(i)->peers_seeding(bundle);
        return peers.size() == 1 && peers[0].first == cluster->id(3) && peers[0].second == hint.swarm_endpoint;
    };
    bool spread = cluster->network().run_until_true(
        [&] {
            for (std::size_t i = 0; i < cluster->size(); ++i) {
                if (i != 3 && !knows(i)) return false;
            }
            return true;
        },
        100ms, 20s);
    CHECK(spread);
    CHECK(to_endpoint(cluster->node(7)->peers_seeding(bundle)[0].second).port() == 6881);

    PeerHint too_many;
    too_many.swarm_endpoint = hint.swarm_endpoint;
    for (std::uint8_t i = 0; i <= PeerHint::kMaxSeeding; ++i)
        too_many.seeding.push_back(rollout::BundleId{i});
    CHECK(cluster->node(3)->set_hint(too_many).error().is(Errc::limit));
}
