// What a Swarm is configured with: where it listens, how much bandwidth,
// connections and seeding disk it may use, where its state lives.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>

#include "common/error.hpp"

namespace patchwave::net {

/// A BitTorrent peer address, as gossip advertises it.
using Endpoint = boost::asio::ip::tcp::endpoint;

struct SwarmConfig {
    /// The address to listen on and to connect from. A specific address keeps
    /// several agents on one machine apart (each binds its own 127.0.0.x).
    std::string listen_address = "0.0.0.0";
    /// 0 lets the OS pick; Swarm::endpoint() reports what was bound.
    std::uint16_t listen_port = 6881;
    /// Bytes per second for the whole session, all peers included (loopback
    /// and LAN too); 0 means no limit. The cap counts protocol and TCP/IP
    /// overhead, so payload runs a few percent below it.
    std::uint64_t upload_limit = 0;
    std::uint64_t download_limit = 0;
    /// Most peer connections open at once, over all bundles.
    int connection_budget = 200;
    /// Peers uploaded to at once; -1 is every interested peer. A fleet has no
    /// free riders to punish, so tit-for-tat buys nothing and -1 is the default.
    int unchoke_slots = -1;
    /// Resume data lives here (in a "resume" subdirectory); never inside a
    /// staging directory, which must hold exactly the bundle's files.
    std::filesystem::path state_dir;
    /// Bytes of finished bundles this session may keep seeding; 0 is unlimited.
    std::uint64_t seed_budget_bytes = 0;
    /// How often progress events are produced for bundles whose state changed.
    std::chrono::milliseconds progress_interval{1000};
    /// How often resume data of unfinished downloads is saved (also on
    /// finish and on stop), bounding what a kill -9 loses.
    std::chrono::milliseconds resume_interval{30'000};
};

/// Errc::invalid_argument naming the first field that is out of range.
Status validate(const SwarmConfig& config);

/// "address:port" or "[v6 address]:port".
Result<Endpoint> parse_endpoint(std::string_view text);
std::string to_string(const Endpoint& endpoint);

}  // namespace patchwave::net
