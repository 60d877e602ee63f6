#include "rollout/endpoint.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include <arpa/inet.h>

namespace patchwave::rollout {
namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// inet_pton only parses text; it touches no socket. It refuses leading
// zeros and short forms ("10.1") in IPv4, which is what we want.
bool valid_address(int family, const std::string& text) {
    std::array<unsigned char, 16> buffer{};
    return inet_pton(family, text.c_str(), buffer.data()) == 1;
}

bool valid_hostname(std::string_view name) {
    if (name.empty() || name.size() > 253)
        return false;
    std::size_t start = 0;
    while (start <= name.size()) {
        const std::size_t dot = std::min(name.find('.', start), name.size());
        const std::string_view label = name.substr(start, dot - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
            return false;
        for (char c : label) {
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-')
                return false;
        }
        start = dot + 1;
    }
    return true;
}

}  // namespace

Result<Endpoint> parse_endpoint(std::string_view text) {
    const auto bad = [&](std::string_view why) {
        return fail(
            Errc::invalid_argument,
            "\"" + std::string(text) + "\" is not a host:port endpoint: " + std::string(why));
    };
    Endpoint endpoint;
    std::string_view port_text;
    if (!text.empty() && text.front() == '[') {
        const std::size_t close = text.find(']');
        if (close == std::string_view::npos)
            return bad("missing ']' after the IPv6 address");
        endpoint.host = std::string(text.substr(1, close - 1));
        endpoint.kind = Endpoint::Kind::ipv6;
        if (!valid_address(AF_INET6, endpoint.host))
            return bad("\"" + endpoint.host + "\" is not an IPv6 address");
        if (close + 1 >= text.size() || text[close + 1] != ':')
            return bad("missing :PORT after the address");
        port_text = text.substr(close + 2);
    } else {
        const std::size_t colon = text.rfind(':');
        if (colon == std::string_view::npos)
            return bad("missing :PORT");
        endpoint.host = std::string(text.substr(0, colon));
        port_text = text.substr(colon + 1);
        if (endpoint.host.empty())
            return bad("missing host");
        if (endpoint.host.find(':') != std::string::npos)
            return bad("IPv6 addresses need brackets: [ADDRESS]:PORT");
        const bool numeric = std::all_of(endpoint.host.begin(), endpoint.host.end(),
                                         [](char c) { return is_digit(c) || c == '.'; });
        if (numeric) {
            endpoint.kind = Endpoint::Kind::ipv4;
            if (!valid_address(AF_INET, endpoint.host))
                return bad("\"" + endpoint.host + "\" is not an IPv4 address");
        } else if (!valid_hostname(endpoint.host)) {
            return bad("\"" + endpoint.host + "\" is not a host name");
        }
    }
    if (port_text.empty() || port_text.size() > 5
        || !std::all_of(port_text.begin(), port_text.end(), is_digit)) {
        return bad("port \"" + std::string(port_text) + "\" is not a number 1-65535");
    }
    const long port = std::stol(std::string(port_text));
    if (port < 1 || port > 65535)
        return bad("port " + std::to_string(port) + " is not 1-65535");
    endpoint.port = static_cast<std::uint16_t>(port);
    return endpoint;
}

std::string format_endpoint(const Endpoint& endpoint) {
    const std::string host =
        endpoint.kind == Endpoint::Kind::ipv6 ? "[" + endpoint.host + "]" : endpoint.host;
    return host + ":" + std::to_string(endpoint.port);
}

}  // namespace patchwave::rollout
