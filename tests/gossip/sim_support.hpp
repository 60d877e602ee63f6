// Helpers shared by the simulator tests: building a fleet that must build,
// and publishing fake records.
#pragma once

#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "net/gossip/sim/cluster.hpp"

namespace patchwave::net::gossip::testing {

inline std::unique_ptr<sim::Cluster> make_cluster(const sim::ClusterOptions& options,
                                                  sim::ClusterIdentities identities = {}) {
    auto cluster = sim::Cluster::create(options, std::move(identities));
    if (!cluster) FAIL("cluster: " << cluster.error().message());
    return std::move(*cluster);
}

inline RecordHeader manifest_header(std::string rollout, std::uint64_t version) {
    return {{RecordType::manifest, MemberId{}, std::move(rollout)}, version};
}

inline void publish_fake(sim::Cluster& cluster, std::size_t member, const RecordHeader& header,
                         std::size_t payload = 300) {
    auto status = cluster.node(member)->publish(header, sim::fake_record(header, payload));
    if (!status) FAIL("publish: " << status.error().message());
}

/// Runs until every live member holds `header` (or `limit` passes); the simulated time it took.
inline std::optional<Micros> time_to_converge(sim::Cluster& cluster, const RecordHeader& header, Micros limit,
                                              std::size_t expected) {
    const Instant start = cluster.network().now();
    bool done = cluster.network().run_until_true(
        [&] { return cluster.holding(header.key, header.version) >= expected; }, std::chrono::milliseconds(10), limit);
    if (!done) return std::nullopt;
    return cluster.network().now() - start;
}

}  // namespace patchwave::net::gossip::testing
