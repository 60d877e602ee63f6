#include "net/gossip/address.hpp"

#include <cstdio>

namespace patchwave::net::gossip {

namespace {

// fd00:5057:4753::/48 ("PWGS" in a unique-local prefix): never routable, so a
// simulator address can not be mistaken for a real one.
constexpr std::array<std::uint8_t, 6> kSimPrefix{0xfd, 0x00, 0x50, 0x57, 0x47, 0x53};
constexpr std::uint16_t kSimPort = 7946;

bool is_ipv4_mapped(const Address& address) {
    for (std::size_t i = 0; i < 10; ++i) {
        if (address.ip[i] != 0) return false;
    }
    return address.ip[10] == 0xff && address.ip[11] == 0xff;
}

}  // namespace

Address Address::for_sim_index(std::uint32_t index) {
    Address address;
    std::copy(kSimPrefix.begin(), kSimPrefix.end(), address.ip.begin());
    address.ip[12] = static_cast<std::uint8_t>(index >> 24);
    address.ip[13] = static_cast<std::uint8_t>(index >> 16);
    address.ip[14] = static_cast<std::uint8_t>(index >> 8);
    address.ip[15] = static_cast<std::uint8_t>(index);
    address.port = kSimPort;
    return address;
}

std::optional<std::uint32_t> Address::sim_index() const {
    if (!std::equal(kSimPrefix.begin(), kSimPrefix.end(), ip.begin()) || port != kSimPort) return std::nullopt;
    for (std::size_t i = kSimPrefix.size(); i < 12; ++i) {
        if (ip[i] != 0) return std::nullopt;
    }
    return (std::uint32_t{ip[12]} << 24) | (std::uint32_t{ip[13]} << 16) | (std::uint32_t{ip[14]} << 8)
           | std::uint32_t{ip[15]};
}

Address Address::ipv4(std::array<std::uint8_t, 4> octets, std::uint16_t port) {
    Address address;
    address.ip[10] = 0xff;
    address.ip[11] = 0xff;
    std::copy(octets.begin(), octets.end(), address.ip.begin() + 12);
    address.port = port;
    return address;
}

std::string to_string(const Address& address) {
    if (auto index = address.sim_index()) return "sim#" + std::to_string(*index);
    char buffer[64];
    if (is_ipv4_mapped(address)) {
        std::snprintf(buffer, sizeof buffer, "%u.%u.%u.%u:%u", address.ip[12], address.ip[13], address.ip[14],
                      address.ip[15], address.port);
        return buffer;
    }
    std::string text = "[";
    for (std::size_t i = 0; i < 16; i += 2) {
        std::snprintf(buffer, sizeof buffer, "%s%x", i == 0 ? "" : ":", (address.ip[i] << 8) | address.ip[i + 1]);
        text += buffer;
    }
    return text + "]:" + std::to_string(address.port);
}

std::size_t AddressHash::operator()(const Address& address) const noexcept {
    // FNV-1a over the 18 bytes: cheap, and addresses are not attacker-chosen keys
    // in any table that could be flooded (they come from admitted members).
    std::uint64_t hash = 1469598103934665603ull;
    for (std::uint8_t byte : address.ip)
        hash = (hash ^ byte) * 1099511628211ull;
    hash = (hash ^ (address.port >> 8)) * 1099511628211ull;
    hash = (hash ^ (address.port & 0xff)) * 1099511628211ull;
    return static_cast<std::size_t>(hash);
}

}  // namespace patchwave::net::gossip
