// Where a gossip member listens: an opaque, fixed-size value (an IP and port for
// the real transport, a node index in the simulator). The protocol core never opens sockets.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace patchwave::net::gossip {

/// A member's gossip address. Sixteen address bytes (IPv6, or IPv4-mapped
/// `::ffff:a.b.c.d`) and a port; the simulator encodes a node index in the
/// address bytes. Trivially copyable and 18 bytes on the wire.
struct Address {
    static constexpr std::size_t kEncodedSize = 18;

    std::array<std::uint8_t, 16> ip{};
    std::uint16_t port = 0;

    /// All zero: "no address" (never a valid destination).
    bool unset() const { return port == 0 && ip == std::array<std::uint8_t, 16>{}; }

    /// The address the simulator gives node `index` (fd00:5057:4753::/48, port 7946).
    static Address for_sim_index(std::uint32_t index);
    /// The node index, when this is a simulator address.
    std::optional<std::uint32_t> sim_index() const;

    /// An IPv4 address in the IPv4-mapped form.
    static Address ipv4(std::array<std::uint8_t, 4> octets, std::uint16_t port);

    friend auto operator<=>(const Address&, const Address&) = default;
};

/// "a.b.c.d:port" for IPv4-mapped addresses, "sim#index" for simulator
/// addresses, "[hex groups]:port" otherwise. For logs and messages.
std::string to_string(const Address& address);

struct AddressHash {
    std::size_t operator()(const Address& address) const noexcept;
};

}  // namespace patchwave::net::gossip
