#include "net/gossip/asio/asio_address.hpp"

#include <charconv>
#include <string>

namespace patchwave::net::gossip::asio_impl {

namespace ip = boost::asio::ip;

ip::address ip_of(const Address& address) {
    ip::address_v6::bytes_type bytes{};
    std::copy(address.ip.begin(), address.ip.end(), bytes.begin());
    ip::address_v6 v6(bytes);
    // Sockets here are IPv4 or IPv6 by their bind address; an IPv4 socket
    // cannot send to ::ffff:a.b.c.d, so mapped addresses become plain IPv4.
    if (v6.is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, v6);
    return v6;
}

ip::udp::endpoint udp_endpoint_of(const Address& address) {
    return {ip_of(address), address.port};
}
ip::tcp::endpoint tcp_endpoint_of(const Address& address) {
    return {ip_of(address), address.port};
}

Address address_of(const ip::address& ip_address, std::uint16_t port) {
    if (ip_address.is_v4()) return Address::ipv4(ip_address.to_v4().to_bytes(), port);
    Address address;
    auto bytes = ip_address.to_v6().to_bytes();
    std::copy(bytes.begin(), bytes.end(), address.ip.begin());
    address.port = port;
    return address;
}

Result<Address> parse_address(std::string_view text, bool allow_port_zero) {
    auto bad = [&](std::string_view why) {
        return fail(Errc::invalid_argument, "address \"" + std::string(text) + "\": " + std::string(why));
    };
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("expected host:port");
    std::string_view host = text.substr(0, colon);
    std::string_view port_text = text.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    unsigned port = 0;
    auto [end, errc] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (errc != std::errc{} || end != port_text.data() + port_text.size() || port > 65535) return bad("bad port");
    if (port == 0 && !allow_port_zero) return bad("port 0 is not a destination");
    boost::system::error_code ec;
    ip::address ip_address = ip::make_address(std::string(host), ec);
    if (ec) return bad("bad IP address");
    return address_of(ip_address, static_cast<std::uint16_t>(port));
}

}  // namespace patchwave::net::gossip::asio_impl
