// Test support for FleetMember tests: members on their own 127.0.0.x in one
// io_context, signed with the rollout test fixtures, and bounded event loops.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "gossip_asio/member_identity.hpp"
#include "net/fleet/fleet_member.hpp"
#include "rollout/document_fixtures.hpp"
#include "support/io_loop.hpp"
#include "support/temp_dir.hpp"

namespace patchwave::net::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using patchwave::testing::run_for;
using patchwave::testing::run_until;

inline rollout::Endpoint loopback(std::uint8_t last, std::uint16_t port = 0) {
    return rollout::Endpoint{"127.0.0." + std::to_string(last), port, rollout::Endpoint::Kind::ipv4};
}

inline rollout::Endpoint as_rollout_endpoint(const Endpoint& endpoint) {
    return rollout::Endpoint{endpoint.address().to_string(), endpoint.port(), rollout::Endpoint::Kind::ipv4};
}

/// Gossip timing for tests: a probe every 200 ms, everything else scaled to it.
inline gossip::NodeConfig fast_node() {
    gossip::NodeConfig node;
    node.probe_interval = 200ms;
    node.probe_timeout = 80ms;
    node.gossip_interval = 100ms;
    node.push_pull_interval = 4s;
    node.record_sync_interval = 2s;
    node.reconnect_interval = 2s;
    node.upstream_retry_min = 400ms;
    node.upstream_retry_max = 4s;
    node.stream_timeout = 4s;
    return node;
}

/// What one member saw.
struct Seen {
    std::vector<gossip::RecordPtr> records;
    std::vector<std::uint64_t> roots;
    std::vector<rollout::BundleId> ready;

    bool has(gossip::RecordType type, const std::string& id, std::uint64_t version) const {
        for (const auto& record : records) {
            const auto& header = record->header;
            if (header.key.type == type && header.key.id == id && header.version == version) return true;
        }
        return false;
    }
};

/// How Fleet::start runs a member: MemberOptions{}.collector().seeds({...}).
struct MemberOptions {
    std::vector<rollout::Endpoint> seed_list;
    bool is_collector = false;
    bool persist_records = false;  ///< records_dir = member dir/records
    std::uint16_t fixed_port = 0;
    std::optional<crypto::TrustRoot> pinned_root;  ///< default: trust.trust (v1)

    MemberOptions& seeds(std::vector<rollout::Endpoint> list) {
        seed_list = std::move(list);
        return *this;
    }
    MemberOptions& collector() {
        is_collector = true;
        return *this;
    }
    MemberOptions& persist() {
        persist_records = true;
        return *this;
    }
    MemberOptions& port(std::uint16_t value) {
        fixed_port = value;
        return *this;
    }
    MemberOptions& root(crypto::TrustRoot value) {
        pinned_root = std::move(value);
        return *this;
    }
};

/// A fleet of FleetMembers in one process, member i on 127.0.0.(40 + i).
class Fleet {
public:
    boost::asio::io_context io;
    rollout::testing::TestTrust trust;
    patchwave::testing::TempDir temp;
    Timestamp now = gossip::testing::fixture_now();

    /// Starts member `index` (its certificate is member_certificate(index)); REQUIREs success in the caller.
    Result<FleetMember*> start(std::size_t index, MemberOptions options = {}) {
        FleetMemberConfig config;
        config.node = fast_node();
        config.gossip_listen = loopback(static_cast<std::uint8_t>(40 + index), options.fixed_port);
        config.seeds = std::move(options.seed_list);
        config.collector = options.is_collector;
        config.peer_refresh_interval = 200ms;
        config.join_retry_min = 200ms;
        config.join_retry_max = 1s;
        config.swarm.listen_address = config.gossip_listen.host;
        config.swarm.listen_port = 0;
        config.swarm.state_dir = dir(index) / "swarm";
        config.swarm.progress_interval = 200ms;
        if (options.persist_records) config.records_dir = records_dir(index);
        if (seen_.size() <= index) seen_.resize(index + 1);
        seen_[index] = std::make_shared<Seen>();
        auto seen = seen_[index];
        config.swarm_events.ready = [seen](const rollout::BundleId& id, const fs::path&) { seen->ready.push_back(id); };
        auto member = FleetMember::start(io, std::move(config), options.pinned_root.value_or(trust.trust),
                                         gossip::testing::member_certificate(trust, index), [this] { return now; });
        if (!member) return std::unexpected(member.error());
        (*member)->on_record = [seen](const gossip::RecordPtr& record) { seen->records.push_back(record); };
        (*member)->on_root = [seen](const crypto::TrustRoot& root, gossip::ByteView) {
            seen->roots.push_back(root.version);
        };
        if (members_.size() <= index) members_.resize(index + 1);
        members_[index] = std::move(*member);
        return members_[index].get();
    }

    /// Joins and waits (bounded) for `done`; false when it did not come.
    bool join(std::size_t index, std::chrono::milliseconds limit = 10s) {
        bool joined = false;
        members_[index]->join([&joined](Status status) { joined = status.has_value(); });
        return run_until(
            io, [&] { return joined; }, limit);
    }

    FleetMember& operator[](std::size_t index) { return *members_.at(index); }
    Seen& seen(std::size_t index) { return *seen_.at(index); }
    rollout::Endpoint gossip_of(std::size_t index) { return as_rollout_endpoint(members_.at(index)->gossip_address()); }

    /// Stops and destroys member `index` (as a process exit would).
    void remove(std::size_t index) {
        members_.at(index)->stop();
        members_.at(index).reset();
        run_for(io, 50ms);  // let closed sockets' handlers finish
    }

    fs::path dir(std::size_t index) const { return temp.path() / ("member-" + std::to_string(index)); }
    fs::path records_dir(std::size_t index) const { return dir(index) / "records"; }

    gossip::Bytes manifest(const std::string& rollout_id, std::uint64_t version) const {
        return gossip::testing::manifest_envelope(trust, rollout_id, version);
    }

    ~Fleet() {
        for (auto& member : members_)
            if (member) member->stop();
        run_for(io, 20ms);
        members_.clear();
    }

private:
    std::vector<std::unique_ptr<FleetMember>> members_;
    std::vector<std::shared_ptr<Seen>> seen_;
};

}  // namespace patchwave::net::testing
