#include "net/gossip/peer_hints.hpp"

#include <algorithm>

namespace patchwave::net::gossip {

Status validate(const PeerHint& hint) {
    if (hint.seeding.size() > PeerHint::kMaxSeeding) {
        return fail(Errc::limit, "peer hint: " + std::to_string(hint.seeding.size()) + " bundles, at most "
                                     + std::to_string(PeerHint::kMaxSeeding));
    }
    if (!hint.seeding.empty() && hint.swarm_endpoint.unset()) {
        return fail(Errc::invalid_argument, "peer hint: bundles advertised without a swarm endpoint");
    }
    for (std::size_t i = 0; i < hint.seeding.size(); ++i) {
        if (std::find(hint.seeding.begin() + static_cast<std::ptrdiff_t>(i) + 1, hint.seeding.end(), hint.seeding[i])
            != hint.seeding.end()) {
            return fail(Errc::invalid_argument,
                        "peer hint: bundle " + rollout::short_hex(hint.seeding[i]) + " listed twice");
        }
    }
    return {};
}

Endpoint to_endpoint(const Address& address) {
    boost::asio::ip::address_v6 v6(address.ip);
    if (v6.is_v4_mapped()) {
        return {boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6), address.port};
    }
    return {v6, address.port};
}

Address from_endpoint(const Endpoint& endpoint) {
    Address address;
    const auto& ip = endpoint.address();
    if (ip.is_v4()) {
        auto v6 = boost::asio::ip::make_address_v6(boost::asio::ip::v4_mapped, ip.to_v4());
        address.ip = v6.to_bytes();
    } else {
        address.ip = ip.to_v6().to_bytes();
    }
    address.port = endpoint.port();
    return address;
}

}  // namespace patchwave::net::gossip
