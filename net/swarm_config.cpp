#include "net/swarm_config.hpp"

#include <charconv>
#include <climits>

#include <boost/asio/ip/address.hpp>

namespace patchwave::net {

namespace asio = boost::asio;

Status validate(const SwarmConfig& config) {
    boost::system::error_code ec;
    asio::ip::make_address(config.listen_address, ec);
    if (ec)
        return fail(Errc::invalid_argument, "listen address \"" + config.listen_address + "\" is not an IP address");
    // libtorrent keeps rates in an int.
    if (config.upload_limit > INT_MAX || config.download_limit > INT_MAX) {
        return fail(Errc::invalid_argument,
                    "rate limits above " + std::to_string(INT_MAX) + " bytes/s are not supported");
    }
    if (config.connection_budget < 2 || config.connection_budget > 65535) {
        return fail(Errc::invalid_argument,
                    "connection budget " + std::to_string(config.connection_budget) + " is outside 2..65535");
    }
    if (config.unchoke_slots < -1 || config.unchoke_slots == 0) {
        return fail(Errc::invalid_argument, "unchoke slots must be -1 (all peers) or positive");
    }
    if (config.state_dir.empty()) return fail(Errc::invalid_argument, "the swarm needs a state directory");
    if (config.progress_interval.count() <= 0 || config.resume_interval.count() <= 0) {
        return fail(Errc::invalid_argument, "progress and resume intervals must be positive");
    }
    return {};
}

Result<Endpoint> parse_endpoint(std::string_view text) {
    const auto bad = [&](std::string_view why) {
        return fail(Errc::invalid_argument,
                    "\"" + std::string(text) + "\" is not a peer endpoint: " + std::string(why));
    };
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("expected address:port");
    std::string_view host = text.substr(0, colon);
    const std::string_view port_text = text.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    unsigned port = 0;
    const auto [end, errc] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (errc != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
        return bad("port must be 1..65535");
    }
    boost::system::error_code ec;
    const asio::ip::address address = asio::ip::make_address(std::string(host), ec);
    if (ec) return bad("bad IP address");
    return Endpoint(address, static_cast<std::uint16_t>(port));
}

std::string to_string(const Endpoint& endpoint) {
    const std::string address = endpoint.address().to_string();
    const std::string host = endpoint.address().is_v6() ? "[" + address + "]" : address;
    return host + ":" + std::to_string(endpoint.port());
}

}  // namespace patchwave::net
