#include "net/gossip/sim/cluster.hpp"

namespace patchwave::net::gossip::sim {

Result<std::unique_ptr<Cluster>> Cluster::create(ClusterOptions options, ClusterIdentities identities) {
    std::unique_ptr<Cluster> cluster(new Cluster(std::move(options)));
    if (auto status = cluster->build(std::move(identities)); !status) return std::unexpected(status.error());
    return cluster;
}

Cluster::Cluster(ClusterOptions options) : options_(std::move(options)), network_(options_.seed, options_.network) {}

Status Cluster::build(ClusterIdentities identities) {
    const std::size_t n = options_.members;
    const bool fake = identities.certificates.empty();
    verifiers_ = std::move(identities.verifiers);
    std::vector<Bytes> certificates = std::move(identities.certificates);
    if (fake) {
        for (std::uint32_t i = 0; i < n; ++i)
            certificates.push_back(fake_certificate(fake_member_id(i)));
    }
    if (certificates.size() != n || (!fake && verifiers_.size() != n)) {
        return fail(Errc::invalid_argument, "cluster: one certificate and one verifier per member");
    }
    nodes_.resize(n);
    ids_.resize(n);
    for (std::uint32_t i = 0; i < n; ++i) {
        network_.add_endpoint();
        NodeConfig config = options_.node;
        config.certificate = certificates[i];
        config.seed = mix_seed(options_.seed, i + 1);
        config.collector = i < options_.collectors;
        auto node = Node::create(std::move(config), network_.transport(i), network_.clock(), verifier(i));
        if (!node) return std::unexpected(node.error().with_context("cluster member " + std::to_string(i)));
        ids_[i] = (*node)->id();
        nodes_[i] = std::move(*node);
    }
    if (options_.warm_start) {
        std::vector<MemberEntry> entries(n);
        for (std::uint32_t j = 0; j < n; ++j) {
            entries[j].id = ids_[j];
            entries[j].address = Address::for_sim_index(j);
            entries[j].roles = j < options_.collectors ? kRoleCollector : 0;
        }
        for (std::uint32_t i = 0; i < n; ++i) {
            for (std::uint32_t j = 0; j < n; ++j) {
                if (i == j) continue;
                if (auto status = nodes_[i]->seed_member(entries[j], certificates[j]); !status) {
                    return std::unexpected(status.error().with_context("cluster warm start"));
                }
            }
            nodes_[i]->start();
        }
        return {};
    }
    nodes_[0]->start();
    for (std::uint32_t i = 1; i < n; ++i) {
        network_.clock().schedule(options_.join_spacing * i, [this, i] {
            if (!nodes_[i]) return;
            nodes_[i]->join({Address::for_sim_index(0)}, [this](Status status) {
                if (!status) ++joins_failed_;
            });
        });
    }
    return {};
}

Cluster::~Cluster() {
    // Nodes go first: they cancel their timers on the network's clock.
    nodes_.clear();
}

RecordVerifier& Cluster::verifier(std::size_t index) {
    return verifiers_.empty() ? static_cast<RecordVerifier&>(fake_) : *verifiers_[index];
}

void Cluster::kill(std::size_t index) {
    nodes_[index].reset();
    network_.set_down(static_cast<std::uint32_t>(index), true);
}

std::size_t Cluster::holding(const RecordKey& key, std::uint64_t version) const {
    std::size_t count = 0;
    for (const auto& node : nodes_) {
        if (node && node->records().version_of(key) >= version) ++count;
    }
    return count;
}

std::size_t Cluster::seeing(std::size_t index, MemberState state) const {
    std::size_t count = 0;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (i == index || !nodes_[i]) continue;
        const Member* member = nodes_[i]->members().find(ids_[index]);
        if (member != nullptr && member->state == state) ++count;
    }
    return count;
}

std::size_t Cluster::fully_connected() const {
    std::size_t live = 0;
    for (const auto& node : nodes_)
        live += node ? 1 : 0;
    std::size_t count = 0;
    for (const auto& node : nodes_) {
        if (!node) continue;
        std::size_t alive = 0;
        for (std::size_t j = 0; j < nodes_.size(); ++j) {
            if (!nodes_[j]) continue;
            const Member* member = node->members().find(ids_[j]);
            if (member != nullptr && member->state == MemberState::alive) ++alive;
        }
        if (alive == live) ++count;
    }
    return count;
}

std::uint64_t Cluster::bytes_sent() const {
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (!nodes_[i]) continue;
        const auto& stats = network_.stats(static_cast<std::uint32_t>(i));
        total += stats.datagram_bytes_sent + stats.stream_bytes_sent;
    }
    return total;
}

}  // namespace patchwave::net::gossip::sim
