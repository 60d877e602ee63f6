#include "net/swarm_config.hpp"

#include <catch2/catch.hpp>
#include <libtorrent/ip_filter.hpp>
#include <libtorrent/session.hpp>

#include "net/swarm_settings.hpp"

using namespace patchwave;
namespace lt = libtorrent;

TEST_CASE("swarm configs are checked field by field", "[net]") {
    // Each bad field is invalid_argument naming it.
    net::SwarmConfig config;
    config.state_dir = "/tmp/x";
    CHECK(net::validate(config));
    auto bad = config;
    bad.listen_address = "localhost";
    CHECK_THAT(net::validate(bad).error().message(), Catch::Contains("listen address"));
    bad = config;
    bad.connection_budget = 1;
    CHECK(net::validate(bad).error().is(Errc::invalid_argument));
    bad = config;
    bad.upload_limit = 1ull << 40;
    CHECK_FALSE(net::validate(bad));
    bad = config;
    bad.state_dir.clear();
    CHECK_FALSE(net::validate(bad));
    bad = config;
    bad.unchoke_slots = 0;
    CHECK_FALSE(net::validate(bad));
}

TEST_CASE("peer endpoints parse from address:port", "[net]") {
    // v4 and bracketed v6 parse; missing or bad ports do not.
    CHECK(net::to_string(net::parse_endpoint("127.0.0.2:6881").value()) == "127.0.0.2:6881");
    CHECK(net::to_string(net::parse_endpoint("[::1]:7000").value()) == "[::1]:7000");
    CHECK_FALSE(net::parse_endpoint("127.0.0.2"));
    CHECK_FALSE(net::parse_endpoint("127.0.0.2:0"));
    CHECK_FALSE(net::parse_endpoint("127.0.0.2:70000"));
    CHECK_FALSE(net::parse_endpoint("host:80"));
}

TEST_CASE("the settings turn off discovery and the defaults that bite", "[net]") {
    // DHT, LSD, UPnP, NAT-PMP off; several connections per IP; budget and rates applied.
    net::SwarmConfig config;
    config.listen_address = "127.0.0.5";
    config.listen_port = 7000;
    config.connection_budget = 321;
    config.upload_limit = 1'000'000;
    config.download_limit = 2'000'000;
    config.state_dir = "/tmp/x";
    const lt::settings_pack pack = net::make_settings_pack(config);
    using sp = lt::settings_pack;
    CHECK_FALSE(pack.get_bool(sp::enable_dht));
    CHECK_FALSE(pack.get_bool(sp::enable_lsd));
    CHECK_FALSE(pack.get_bool(sp::enable_upnp));
    CHECK_FALSE(pack.get_bool(sp::enable_natpmp));
    CHECK(pack.get_bool(sp::allow_multiple_connections_per_ip));
    CHECK(pack.get_int(sp::connections_limit) == 321);
    CHECK(pack.get_int(sp::upload_rate_limit) == 1'000'000);
    CHECK(pack.get_int(sp::download_rate_limit) == 2'000'000);
    CHECK(pack.get_int(sp::active_seeds) == -1);
    CHECK(pack.get_str(sp::listen_interfaces) == "127.0.0.5:7000");
    CHECK(pack.get_str(sp::outgoing_interfaces) == "127.0.0.5");
}

TEST_CASE("loopback and LAN peers fall in the rate-limited global class", "[net]") {
    // After the policy, 127/8, 10/8, 192.168/16 and public addresses map to the global class only.
    lt::settings_pack pack;
    pack.set_str(lt::settings_pack::listen_interfaces, "127.0.0.1:0");
    pack.set_bool(lt::settings_pack::enable_dht, false);
    lt::session session(pack);
    net::apply_peer_class_policy(session);
    const lt::ip_filter classes = session.get_peer_class_filter();
    const std::uint32_t global = 1u << static_cast<std::uint32_t>(lt::session::global_peer_class_id);
    for (const char* address :
         {"127.0.0.1", "127.0.1.9", "10.1.2.3", "172.16.0.1", "192.168.1.1", "198.18.0.7", "::1", "fe80::1"}) {
        INFO(address);
        CHECK(classes.access(lt::make_address(address)) == global);
    }
    const lt::peer_class_info local = session.get_peer_class(lt::session::local_peer_class_id);
    CHECK_FALSE(local.ignore_unchoke_slots);
}
