// Network endpoints as written in configuration ("0.0.0.0:7946",
// "[::1]:7946", "orchestrator.example.net:7946"): parsed and validated, no lookup.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace patchwave::rollout {

struct Endpoint {
    enum class Kind { ipv4, ipv6, hostname };
    std::string host;  ///< address or name, IPv6 without brackets
    std::uint16_t port = 0;
    Kind kind = Kind::hostname;
    friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

/// `HOST:PORT` where HOST is a dotted IPv4 address, a bracketed IPv6 address
/// or a DNS host name (labels of 1-63 letters, digits and '-', not starting
/// or ending with '-', 253 characters at most); PORT is 1-65535. Nothing is
/// resolved. Errors (Errc::invalid_argument) quote the text:
/// `"example.net:0" is not a host:port endpoint: port 0 is not 1-65535`.
Result<Endpoint> parse_endpoint(std::string_view text);

/// "10.0.0.1:7946", "[::1]:7946", "seed.example.net:7946".
std::string format_endpoint(const Endpoint& endpoint);

}  // namespace patchwave::rollout
