#include "rollout/endpoint.hpp"

#include <catch2/catch.hpp>

using namespace patchwave;
using namespace patchwave::rollout;

namespace {

std::string endpoint_error(std::string_view text) {
    auto endpoint = parse_endpoint(text);
    REQUIRE_FALSE(endpoint.has_value());
    CHECK(endpoint.error().is(Errc::invalid_argument));
    return endpoint.error().message();
}

}  // namespace

TEST_CASE("IPv4, bracketed IPv6 and host name endpoints parse", "[rollout][endpoint]") {
    // Each form yields its host, port and kind.
    auto v4 = parse_endpoint("0.0.0.0:7946");
    REQUIRE(v4);
    CHECK(v4->host == "0.0.0.0");
    CHECK(v4->port == 7946);
    CHECK(v4->kind == Endpoint::Kind::ipv4);
    auto v6 = parse_endpoint("[fd00::1]:6881");
    REQUIRE(v6);
    CHECK(v6->host == "fd00::1");
    CHECK(v6->kind == Endpoint::Kind::ipv6);
    auto name = parse_endpoint("orchestrator.example.net:65535");
    REQUIRE(name);
    CHECK(name->host == "orchestrator.example.net");
    CHECK(name->port == 65535);
    CHECK(name->kind == Endpoint::Kind::hostname);
    CHECK(parse_endpoint("localhost:1").has_value());
}

TEST_CASE("endpoints format back with brackets for IPv6", "[rollout][endpoint]") {
    // Formatting is the inverse of parsing.
    CHECK(format_endpoint(parse_endpoint("[::1]:7946").value()) == "[::1]:7946");
    CHECK(format_endpoint(parse_endpoint("10.1.2.3:80").value()) == "10.1.2.3:80");
    CHECK(format_endpoint(parse_endpoint("seed-1.example.net:7946").value())
          == "seed-1.example.net:7946");
}

TEST_CASE("bad endpoints are refused with the reason", "[rollout][endpoint]") {
    // Ports, addresses and names are each checked.
    const std::string prefix = " is not a host:port endpoint: ";
    CHECK(endpoint_error("example.net") == "\"example.net\"" + prefix + "missing :PORT");
    CHECK(endpoint_error(":7946") == "\":7946\"" + prefix + "missing host");
    CHECK(endpoint_error("example.net:0")
          == "\"example.net:0\"" + prefix + "port 0 is not 1-65535");
    CHECK(endpoint_error("example.net:65536")
          == "\"example.net:65536\"" + prefix + "port 65536 is not 1-65535");
    CHECK(endpoint_error("example.net:")
          == "\"example.net:\"" + prefix + "port \"\" is not a number 1-65535");
    CHECK(endpoint_error("example.net:http")
          == "\"example.net:http\"" + prefix + "port \"http\" is not a number 1-65535");
    CHECK(endpoint_error("256.1.1.1:80")
          == "\"256.1.1.1:80\"" + prefix + "\"256.1.1.1\" is not an IPv4 address");
    CHECK(endpoint_error("10.1:80") == "\"10.1:80\"" + prefix + "\"10.1\" is not an IPv4 address");
    CHECK(endpoint_error("::1:80")
          == "\"::1:80\"" + prefix + "IPv6 addresses need brackets: [ADDRESS]:PORT");
    CHECK(endpoint_error("[::g]:80") == "\"[::g]:80\"" + prefix + "\"::g\" is not an IPv6 address");
    CHECK(endpoint_error("[::1:80")
          == "\"[::1:80\"" + prefix + "missing ']' after the IPv6 address");
    CHECK(endpoint_error("[::1]80") == "\"[::1]80\"" + prefix + "missing :PORT after the address");
    CHECK(endpoint_error("-bad.example:80")
          == "\"-bad.example:80\"" + prefix + "\"-bad.example\" is not a host name");
    CHECK(endpoint_error("a..b:80") == "\"a..b:80\"" + prefix + "\"a..b\" is not a host name");
    CHECK(endpoint_error("under_score:80")
          == "\"under_score:80\"" + prefix + "\"under_score\" is not a host name");
}
