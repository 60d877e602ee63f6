// A simulated fleet: n gossip nodes on one simulated network, started warm
// (every member known) or cold (each joins through a seed), with helpers to measure convergence.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "net/gossip/config.hpp"
#include "net/gossip/node.hpp"
#include "net/gossip/sim/fake_verifier.hpp"
#include "net/gossip/sim/network.hpp"

namespace patchwave::net::gossip::sim {

struct ClusterOptions {
    std::size_t members = 100;
    std::uint64_t seed = 1;
    NetworkConfig network;
    /// Template for every node; certificate, seed and collector are set per member.
    NodeConfig node;
    /// Members 0 .. collectors-1 are collectors (the orchestrator is member 0).
    std::size_t collectors = 0;
    /// Warm: every member starts knowing every other (as after a restart
    /// from a saved member list). Cold: member 0 starts alone and the others
    /// join through it, one every join_spacing.
    bool warm_start = true;
    Micros join_spacing = std::chrono::milliseconds(20);
};

/// Certificates and verifiers for a cluster that does not use the fake ones
/// (the rollout verifier with real signed certificates).
struct ClusterIdentities {
    std::vector<Bytes> certificates;                         ///< one per member
    std::vector<std::unique_ptr<RecordVerifier>> verifiers;  ///< one per member
};

class Cluster {
public:
    /// Builds and starts the fleet (a cold start's joins are scheduled, not
    /// yet run). Errc::invalid_argument when identities do not match the
    /// member count; a node's own error when one cannot be created.
    static Result<std::unique_ptr<Cluster>> create(ClusterOptions options, ClusterIdentities identities = {});
    ~Cluster();
    Cluster(const Cluster&) = delete;
    Cluster& operator=(const Cluster&) = delete;

    Network& network() { return network_; }
    std::size_t size() const { return nodes_.size(); }
    /// nullptr for a killed member.
    Node* node(std::size_t index) { return nodes_[index].get(); }
    const Node* node(std::size_t index) const { return nodes_[index].get(); }
    const MemberId& id(std::size_t index) const { return ids_[index]; }
    RecordVerifier& verifier(std::size_t index);
    /// Status of the cold start's joins: every join that finished, ok or not.
    std::size_t joins_failed() const { return joins_failed_; }

    /// Crashes a member: its node is destroyed and its host goes silent.
    void kill(std::size_t index);

    /// Live nodes holding `key` at `version` or above.
    std::size_t holding(const RecordKey& key, std::uint64_t version) const;
    /// Live nodes other than `index` that see member `index` in `state`.
    std::size_t seeing(std::size_t index, MemberState state) const;
    /// Live nodes whose member list has every other live node alive.
    std::size_t fully_connected() const;
    /// Sum over live nodes of (datagram + stream) bytes sent.
    std::uint64_t bytes_sent() const;

private:
    explicit Cluster(ClusterOptions options);
    Status build(ClusterIdentities identities);

    ClusterOptions options_;
    Network network_;
    FakeVerifier fake_;
    std::vector<std::unique_ptr<RecordVerifier>> verifiers_;
    std::vector<MemberId> ids_;
    std::vector<std::unique_ptr<Node>> nodes_;
    std::size_t joins_failed_ = 0;
};

}  // namespace patchwave::net::gossip::sim
