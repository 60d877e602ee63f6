// Gossip nodes on the real transport in one process (one io_context): they join
// through a seed, converge on release-signed manifests (inline and fetched over TCP), under a fleet key.
#include <catch2/catch.hpp>

#include "loop_support.hpp"
#include "member_identity.hpp"
#include "net/gossip/asio/asio_clock.hpp"
#include "net/gossip/asio/udp_tcp_transport.hpp"
#include "net/gossip/node.hpp"

using namespace patchwave;
using namespace patchwave::net::gossip;
using namespace patchwave::net::gossip::asio_impl;
using namespace patchwave::net::gossip::testing;
using namespace std::chrono_literals;

namespace {

NodeConfig fast_config(std::size_t index, Bytes certificate) {
    NodeConfig config;
    config.certificate = std::move(certificate);
    config.seed = 500 + index;
    config.probe_interval = 100ms;
    config.probe_timeout = 40ms;
    config.gossip_interval = 50ms;
    config.push_pull_interval = 2s;
    config.record_sync_interval = 1s;
    config.reconnect_interval = 1s;
    config.stream_timeout = 2s;
    return config;
}

/// A few members on 127.0.0.21.. sharing one loop, clock and fleet key.
struct LocalFleet {
    explicit LocalFleet(std::size_t n, std::shared_ptr<FleetKeyring> keyring) : clock(io) {
        for (std::size_t i = 0; i < n; ++i) {
            TransportConfig config;
            config.bind = loopback(static_cast<std::uint8_t>(21 + i));
            config.keyring = keyring;
            auto transport = UdpTcpTransport::open(io, config);
            if (!transport) FAIL("transport: " << transport.error().message());
            transports.push_back(std::move(*transport));
            verifiers.push_back(member_verifier(trust));
            auto node = Node::create(fast_config(i, member_certificate(trust, i)), *transports.back(), clock,
                                     *verifiers.back());
            if (!node) FAIL("node: " << node.error().message());
            nodes.push_back(std::move(*node));
        }
    }
    ~LocalFleet() {
        nodes.clear();  // nodes detach from transports and clock first
        transports.clear();
    }

    std::size_t holding(const RecordHeader& header) const {
        std::size_t count = 0;
        for (const auto& node : nodes)
            count += node->records().version_of(header.key) >= header.version ? 1 : 0;
        return count;
    }
    bool all_see_all() const {
        for (const auto& node : nodes) {
            if (node->members().live_count() != nodes.size()) return false;
        }
        return true;
    }

    boost::asio::io_context io;
    rollout::testing::TestTrust trust;
    AsioClock clock;
    std::vector<std::unique_ptr<UdpTcpTransport>> transports;
    std::vector<std::unique_ptr<RolloutVerifier>> verifiers;
    std::vector<std::unique_ptr<Node>> nodes;
};

}  // namespace

TEST_CASE("nodes on the real transport join through a seed and converge on signed manifests", "[gossip-net]") {
    // Five members under a fleet key join via member 0; a small manifest spreads by gossip, a 9 KB one by TCP fetch.
    auto keyring = FleetKeyring::create(generate_fleet_key(1));
    REQUIRE(keyring);
    LocalFleet fleet(5, *keyring);
    fleet.nodes[0]->start();
    int joined = 0;
    for (std::size_t i = 1; i < fleet.nodes.size(); ++i) {
        fleet.nodes[i]->join({fleet.transports[0]->local_address()}, [&](Status status) {
            CHECK(status.has_value());
            ++joined;
        });
    }
    REQUIRE(run_until(
        fleet.io, [&] { return joined == 4 && fleet.all_see_all(); }, 10000ms));

    const auto small = manifest_header("2026-11-net", 1);
    REQUIRE(fleet.nodes[2]->publish(small, manifest_envelope(fleet.trust, "2026-11-net", 1)));
    REQUIRE(run_until(
        fleet.io, [&] { return fleet.holding(small) == 5; }, 10000ms));

    const Bytes big_envelope = manifest_envelope(fleet.trust, "2026-11-net", 2, 48);
    REQUIRE(big_envelope.size() > 8000);
    const auto big = manifest_header("2026-11-net", 2);
    REQUIRE(fleet.nodes[4]->publish(big, big_envelope));
    REQUIRE(run_until(
        fleet.io, [&] { return fleet.holding(big) == 5; }, 10000ms));
    CHECK(fleet.nodes[0]->records().find(big.key)->envelope == big_envelope);
    std::uint64_t exchanges = 0;
    std::uint64_t unauthenticated = 0;
    for (const auto& transport : fleet.transports) {
        exchanges += transport->stats().inbound_served;
        unauthenticated += transport->stats().datagrams_unauthenticated + transport->stats().inbound_unauthenticated;
    }
    CHECK(exchanges > 0);
    CHECK(unauthenticated == 0);
    for (const auto& node : fleet.nodes)
        CHECK(node->stats().malformed == 0);
}

TEST_CASE("a node stopped on the real transport is declared dead, the others stay alive", "[gossip-net]") {
    // Four members; one stops answering (its node stops, its sockets close); the three others declare it dead.
    LocalFleet fleet(4, nullptr);
    fleet.nodes[0]->start();
    for (std::size_t i = 1; i < fleet.nodes.size(); ++i) {
        fleet.nodes[i]->join({fleet.transports[0]->local_address()}, [](Status) {});
    }
    REQUIRE(run_until(
        fleet.io, [&] { return fleet.all_see_all(); }, 10000ms));
    const MemberId victim = fleet.nodes[3]->id();
    fleet.nodes[3]->stop();
    fleet.transports[3]->set_handler(nullptr);
    auto declared = [&] {
        for (std::size_t i = 0; i < 3; ++i) {
            const Member* member = fleet.nodes[i]->members().find(victim);
            if (member == nullptr || member->state != MemberState::dead) return false;
        }
        return true;
    };
    REQUIRE(run_until(fleet.io, declared, 15000ms));
    for (std::size_t i = 0; i < 3; ++i)
        CHECK(fleet.nodes[i]->members().live_count() == 3);
}

TEST_CASE("records pushed by a record sync are fetched back from the initiator", "[gossip-net]") {
    // Only member 0 starts anti-entropy (record syncs every 200 ms, no full push-pull); member 1 missed the
    // gossip, so it must fetch from the member whose sync came in: that needs `from` to be a gossip address.
    LocalFleet fleet(2, nullptr);
    fleet.nodes.clear();
    fleet.verifiers.clear();
    for (std::size_t i = 0; i < 2; ++i) {
        NodeConfig config = fast_config(i, member_certificate(fleet.trust, i));
        // Slow probes: a short stop is not a death, and probes carry no record news.
        config.probe_interval = 5s;
        config.probe_timeout = 1s;
        config.push_pull_interval = std::chrono::hours(1);
        config.reconnect_interval = std::chrono::hours(1);
        config.record_sync_interval = i == 0 ? Micros(200ms) : Micros(std::chrono::hours(1));
        fleet.verifiers.push_back(member_verifier(fleet.trust));
        auto node = Node::create(config, *fleet.transports[i], fleet.clock, *fleet.verifiers.back());
        REQUIRE(node);
        fleet.nodes.push_back(std::move(*node));
    }
    fleet.nodes[0]->start();
    bool joined = false;
    fleet.nodes[1]->join({fleet.transports[0]->local_address()}, [&](Status status) { joined = status.has_value(); });
    REQUIRE(run_until(
        fleet.io, [&] { return joined && fleet.all_see_all(); }, 5000ms));

    // Member 1 is deaf while the record's gossip runs out.
    fleet.nodes[1]->stop();
    const auto header = manifest_header("2026-11-push", 1);
    REQUIRE(fleet.nodes[0]->publish(header, manifest_envelope(fleet.trust, "2026-11-push", 1)));
    run_for(fleet.io, 600ms);
    REQUIRE(fleet.nodes[0]->queued_broadcasts() == 0);
    fleet.nodes[1]->start();
    // One or two record syncs: well under a second.
    CHECK(run_until(
        fleet.io, [&] { return fleet.holding(header) == 2; }, 1000ms));
    CHECK(fleet.transports[1]->stats().exchanges_failed == 0);
}

TEST_CASE("a node without the fleet key cannot join, and is never seen by the fleet", "[gossip-net]") {
    // Its certificate is valid, but its join and its gossip are sealed with another key: the join fails,
    // no member lists it, and the fleet's transports count its traffic as unauthenticated.
    auto keyring = FleetKeyring::create(generate_fleet_key(1));
    REQUIRE(keyring);
    LocalFleet fleet(2, *keyring);
    fleet.nodes[0]->start();
    fleet.nodes[1]->join({fleet.transports[0]->local_address()}, [](Status) {});
    REQUIRE(run_until(
        fleet.io, [&] { return fleet.all_see_all(); }, 5000ms));

    auto other_key = FleetKeyring::create(generate_fleet_key(1));
    REQUIRE(other_key);
    TransportConfig config;
    config.bind = loopback(29);
    config.keyring = *other_key;
    auto transport = UdpTcpTransport::open(fleet.io, config);
    REQUIRE(transport);
    auto verifier = member_verifier(fleet.trust);
    auto outsider =
        Node::create(fast_config(9, member_certificate(fleet.trust, 9)), **transport, fleet.clock, *verifier);
    REQUIRE(outsider);
    std::optional<Status> joined;
    (*outsider)->join({fleet.transports[0]->local_address(), fleet.transports[1]->local_address()},
                      [&](Status status) { joined = status; });
    REQUIRE(run_until(
        fleet.io, [&] { return joined.has_value(); }, 10000ms));
    CHECK_FALSE(joined->has_value());
    run_for(fleet.io, 300ms);
    for (const auto& node : fleet.nodes) {
        CHECK(node->members().find((*outsider)->id()) == nullptr);
        CHECK(node->members().live_count() == 2);
    }
    CHECK(fleet.transports[0]->stats().inbound_unauthenticated + fleet.transports[1]->stats().inbound_unauthenticated
          >= 2);
    outsider->reset();
}
