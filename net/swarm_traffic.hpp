// Swarm payload bytes by who was at the other end of the connection: the
// origin (the orchestrator's seed) or other peers, for the daemons' metrics.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include <boost/asio/ip/address.hpp>

namespace libtorrent {
struct plugin;
}

namespace patchwave::net {

/// Payload bytes (block data, no protocol overhead) since the swarm started.
struct SwarmTraffic {
    std::uint64_t received_from_origin = 0;
    std::uint64_t received_from_peers = 0;
    std::uint64_t sent_to_origin = 0;
    std::uint64_t sent_to_peers = 0;
};

/// Counted on libtorrent's network thread, read from the daemon's: atomics,
/// and a lock around the origin list only.
class TrafficCounter {
public:
    /// The IP addresses whose traffic counts as the origin's. An address is
    /// judged when bytes move, so a change applies to open connections too.
    void set_origins(std::vector<boost::asio::ip::address> origins);
    bool is_origin(const boost::asio::ip::address& address) const;
    void add_received(const boost::asio::ip::address& from, std::uint64_t bytes);
    void add_sent(const boost::asio::ip::address& to, std::uint64_t bytes);
    SwarmTraffic snapshot() const;

private:
    mutable std::mutex mutex_;
    std::vector<boost::asio::ip::address> origins_;
    std::atomic<std::uint64_t> received_origin_{0};
    std::atomic<std::uint64_t> received_peers_{0};
    std::atomic<std::uint64_t> sent_origin_{0};
    std::atomic<std::uint64_t> sent_peers_{0};
};

/// A session plugin that reports every block received and every payload
/// byte sent to `counter`, with the remote peer's address.
std::shared_ptr<libtorrent::plugin> make_traffic_plugin(std::shared_ptr<TrafficCounter> counter);

}  // namespace patchwave::net
