// Peer hints for the swarm: each member advertises its BitTorrent endpoint and
// the bundles it seeds, so a fetcher learns peers from gossip without a tracker.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "common/error.hpp"
#include "net/gossip/address.hpp"
#include "net/swarm_config.hpp"
#include "rollout/ids.hpp"

namespace patchwave::net::gossip {

/// What a member advertises about its swarm. Travels inside the member's
/// alive message, so a change bumps the member's incarnation.
struct PeerHint {
    /// A hint stays small enough to ride in one datagram with room to spare;
    /// a member seeding more advertises its most recent bundles.
    static constexpr std::size_t kMaxSeeding = 16;

    Address swarm_endpoint;                  ///< unset when the member does not seed
    std::vector<rollout::BundleId> seeding;  ///< at most kMaxSeeding, no duplicates

    bool empty() const { return swarm_endpoint.unset() && seeding.empty(); }
    friend bool operator==(const PeerHint&, const PeerHint&) = default;
};

/// Errc::limit over kMaxSeeding, Errc::invalid_argument on duplicates or
/// bundles without an endpoint.
Status validate(const PeerHint& hint);

/// The swarm's endpoint type and back. IPv4-mapped addresses become IPv4.
Endpoint to_endpoint(const Address& address);
Address from_endpoint(const Endpoint& endpoint);

}  // namespace patchwave::net::gossip
