// Conversions between the gossip core's Address (16 bytes + port) and Asio's
// endpoints, plus "a.b.c.d:port" parsing for command lines and config files.
#pragma once

#include <optional>
#include <string_view>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include "common/error.hpp"
#include "net/gossip/address.hpp"

namespace patchwave::net::gossip::asio_impl {

/// The IP part of `address`: an IPv4 address for the IPv4-mapped form (so
/// IPv4 sockets can use it), IPv6 otherwise.
boost::asio::ip::address ip_of(const Address& address);
boost::asio::ip::udp::endpoint udp_endpoint_of(const Address& address);
boost::asio::ip::tcp::endpoint tcp_endpoint_of(const Address& address);

/// The gossip Address of an endpoint (IPv4 in the IPv4-mapped form).
Address address_of(const boost::asio::ip::address& ip, std::uint16_t port);
inline Address address_of(const boost::asio::ip::udp::endpoint& endpoint) {
    return address_of(endpoint.address(), endpoint.port());
}
inline Address address_of(const boost::asio::ip::tcp::endpoint& endpoint) {
    return address_of(endpoint.address(), endpoint.port());
}

/// Parses "a.b.c.d:port" or "[v6]:port"; port 0 is allowed only with
/// `allow_port_zero` (a bind address asking for an ephemeral port).
/// Errc::invalid_argument naming the text otherwise.
Result<Address> parse_address(std::string_view text, bool allow_port_zero = false);

}  // namespace patchwave::net::gossip::asio_impl
