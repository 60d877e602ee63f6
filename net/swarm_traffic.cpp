#include "net/swarm_traffic.hpp"

#include <algorithm>

#include <libtorrent/extensions.hpp>
#include <libtorrent/peer_connection_handle.hpp>
#include <libtorrent/peer_request.hpp>

namespace patchwave::net {

namespace lt = libtorrent;

namespace {

// IPv4-mapped IPv6 addresses compare as the IPv4 address they carry.
boost::asio::ip::address plain(const boost::asio::ip::address& address) {
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6());
    }
    return address;
}

class PeerTraffic final : public lt::peer_plugin {
public:
    PeerTraffic(std::shared_ptr<TrafficCounter> counter, boost::asio::ip::address remote)
        : counter_(std::move(counter)), remote_(remote) {}
    lt::string_view type() const override { return "patchwave-traffic"; }
    bool on_piece(const lt::peer_request&, lt::span<const char> data) override {
        counter_->add_received(remote_, static_cast<std::uint64_t>(data.size()));
        return false;  // libtorrent handles the block as usual
    }
    void sent_payload(int bytes) override {
        if (bytes > 0) counter_->add_sent(remote_, static_cast<std::uint64_t>(bytes));
    }

private:
    std::shared_ptr<TrafficCounter> counter_;
    boost::asio::ip::address remote_;
};

class TorrentTraffic final : public lt::torrent_plugin {
public:
    explicit TorrentTraffic(std::shared_ptr<TrafficCounter> counter) : counter_(std::move(counter)) {}
    std::shared_ptr<lt::peer_plugin> new_connection(const lt::peer_connection_handle& peer) override {
        return std::make_shared<PeerTraffic>(counter_, plain(peer.remote().address()));
    }

private:
    std::shared_ptr<TrafficCounter> counter_;
};

class SessionTraffic final : public lt::plugin {
public:
    explicit SessionTraffic(std::shared_ptr<TrafficCounter> counter) : counter_(std::move(counter)) {}
    std::shared_ptr<lt::torrent_plugin> new_torrent(const lt::torrent_handle&, lt::client_data_t) override {
        return std::make_shared<TorrentTraffic>(counter_);
    }

private:
    std::shared_ptr<TrafficCounter> counter_;
};

}  // namespace

void TrafficCounter::set_origins(std::vector<boost::asio::ip::address> origins) {
    for (auto& address : origins) address = plain(address);
    std::lock_guard lock(mutex_);
    origins_ = std::move(origins);
}

bool TrafficCounter::is_origin(const boost::asio::ip::address& address) const {
    std::lock_guard lock(mutex_);
    return std::find(origins_.begin(), origins_.end(), address) != origins_.end();
}

void TrafficCounter::add_received(const boost::asio::ip::address& from, std::uint64_t bytes) {
    (is_origin(from) ? received_origin_ : received_peers_).fetch_add(bytes, std::memory_order_relaxed);
}

void TrafficCounter::add_sent(const boost::asio::ip::address& to, std::uint64_t bytes) {
    (is_origin(to) ? sent_origin_ : sent_peers_).fetch_add(bytes, std::memory_order_relaxed);
}

SwarmTraffic TrafficCounter::snapshot() const {
    return {received_origin_.load(std::memory_order_relaxed), received_peers_.load(std::memory_order_relaxed),
            sent_origin_.load(std::memory_order_relaxed), sent_peers_.load(std::memory_order_relaxed)};
}

std::shared_ptr<lt::plugin> make_traffic_plugin(std::shared_ptr<TrafficCounter> counter) {
    return std::make_shared<SessionTraffic>(std::move(counter));
}

}  // namespace patchwave::net
