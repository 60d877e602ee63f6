#include "orchestrator/serve_config.hpp"

#include <catch2/catch.hpp>

using namespace patchwave;
using namespace patchwave::orchestrator;

namespace {

std::string error_of(std::string_view text) {
    auto config = ServeConfig::parse_toml(text, "serve.toml");
    REQUIRE_FALSE(config);
    CHECK(config.error().is(Errc::parse));
    return config.error().message();
}

}  // namespace

TEST_CASE("serve.toml: every key is read", "[serve_config]") {
    /* A full file sets every field. */
    auto config = ServeConfig::parse_toml(R"(
[serve]
gossip_listen = "0.0.0.0:7000"
advertise = "10.1.2.3:7000"
swarm_listen = "10.1.2.3:6000"
fleet_key = "/etc/patchwave/fleet.key"
probe_interval = "2s"
gate_interval = "10s"
silence_timeout = "30m"
status_interval = "0"
super_seed = false

[hooks]
command = "logger -t patchwave"
webhook = "http://127.0.0.1:9000/events"
timeout = "5s"
retries = 2
)",
                                          "serve.toml");
    REQUIRE(config);
    CHECK(config->gossip_listen.host == "0.0.0.0");
    CHECK(config->gossip_listen.port == 7000);
    REQUIRE(config->advertise);
    CHECK(config->advertise->host == "10.1.2.3");
    CHECK(config->swarm_listen.port == 6000);
    CHECK(config->fleet_key == "/etc/patchwave/fleet.key");
    CHECK(config->probe_interval == std::chrono::seconds(2));
    CHECK(config->gate_interval == std::chrono::seconds(10));
    CHECK(config->silence_timeout == std::chrono::minutes(30));
    CHECK(config->status_interval == Duration::zero());
    CHECK_FALSE(config->super_seed);
    CHECK(config->hooks.command == "logger -t patchwave");
    CHECK(config->hooks.webhook == "http://127.0.0.1:9000/events");
    CHECK(config->hooks.timeout == std::chrono::seconds(5));
    CHECK(config->hooks.retries == 2);
}

TEST_CASE("serve.toml: defaults for what is left out", "[serve_config]") {
    /* A specific listen address needs no advertise; everything else defaults. */
    auto config = ServeConfig::parse_toml("[serve]\ngossip_listen = \"127.0.0.9:7946\"\n", "serve.toml");
    REQUIRE(config);
    CHECK_FALSE(config->advertise);
    CHECK(config->swarm_listen.host == "0.0.0.0");
    CHECK(config->swarm_listen.port == 6881);
    CHECK(config->probe_interval == std::chrono::seconds(1));
    CHECK(config->gate_interval == std::chrono::seconds(5));
    CHECK(config->silence_timeout == std::chrono::minutes(10));
    CHECK(config->status_interval == std::chrono::minutes(1));
    CHECK(config->fleet_key.empty());
    CHECK(config->super_seed);
    CHECK(config->hooks.command.empty());
    CHECK(config->hooks.webhook.empty());
    CHECK(config->hooks.retries == 3);
}

TEST_CASE("serve.toml: a wildcard gossip address needs advertise", "[serve_config]") {
    /* Agents cannot reach 0.0.0.0: the file must say where they can. */
    const auto message = error_of("[serve]\nswarm_listen = \"127.0.0.1:6881\"\n");
    CHECK(message.find("serve.toml:1:") == 0);
    CHECK(message.find("set advertise") != std::string::npos);
    CHECK(error_of("[serve]\ngossip_listen = \"0.0.0.0:7946\"\nadvertise = \"0.0.0.0:7946\"\n")
              .find("serve.toml:3: serve: advertise \"0.0.0.0:7946\" must be a specific IP address")
          == 0);
    CHECK(error_of("[serve]\ngossip_listen = \"0.0.0.0:7946\"\nadvertise = \"orchestrator.example:7946\"\n")
              .find("must be a specific IP address")
          != std::string::npos);
}

TEST_CASE("serve.toml: unknown tables and keys are refused with their line", "[serve_config]") {
    /* A typo cannot silently drop a setting. */
    CHECK(error_of("[serve]\ngossip_listen = \"127.0.0.9:7946\"\ngate_intervall = \"5s\"\n")
          == "serve.toml:3: serve: unknown key \"gate_intervall\"");
    CHECK(error_of("[agent]\nstate_dir = \"/x\"\n").find("unknown key \"agent\"") != std::string::npos);
    CHECK(error_of("[hooks]\ncomand = \"true\"\n").find("serve.toml:2: hooks: unknown key \"comand\"") == 0);
}

TEST_CASE("serve.toml: bad values name the key and the line", "[serve_config]") {
    /* Values are checked as they are read. */
    CHECK(error_of("[serve]\ngossip_listen = \"127.0.0.9\"\n").find("serve.toml:2: serve: gossip_listen") == 0);
    CHECK(error_of("[serve]\ngossip_listen = \"localhost:7946\"\n").find("must be an IP address") != std::string::npos);
    CHECK(error_of("[serve]\ngossip_listen = \"127.0.0.9:7946\"\ngate_interval = \"0\"\n")
          == "serve.toml:3: serve: gate_interval must be at least 1s");
    CHECK(error_of("[serve]\ngossip_listen = \"127.0.0.9:7946\"\nsilence_timeout = \"ten\"\n")
              .find("serve.toml:3: serve: silence_timeout \"ten\"")
          == 0);
    CHECK(error_of("[serve]\ngossip_listen = \"127.0.0.9:7946\"\nfleet_key = \"fleet.key\"\n")
              .find("is not an absolute path")
          != std::string::npos);
    CHECK(error_of("[hooks]\nretries = 11\n").find("serve.toml:2: hooks: retries 11 is not 0-10") == 0);
    CHECK(error_of("[hooks]\nwebhook = \"ftp://example/x\"\n").find("serve.toml:2: hooks:") == 0);
    CHECK(error_of("[serve\n").find("serve.toml:1:") == 0);
}

TEST_CASE("serve.toml: a missing file is not found", "[serve_config]") {
    auto config = ServeConfig::load("/nonexistent/patchwave/serve.toml");
    REQUIRE_FALSE(config);
    CHECK(config.error().is(Errc::not_found));
}

TEST_CASE("serve defaults: a wildcard listen picks an address to advertise", "[serve_config]") {
    /* Without a file, a machine with a network address advertises it; one with none is told to configure. */
    ServeConfig config;
    auto picked = pick_advertise(config);
    if (picked) {
        REQUIRE(config.advertise);
        CHECK(config.advertise->port == 7946);
        CHECK(config.advertise->host.rfind("127.", 0) != 0);
    } else {
        CHECK(picked.error().is(Errc::not_found));
        CHECK(picked.error().message().find("advertise") != std::string::npos);
    }
    ServeConfig fixed;
    fixed.gossip_listen = {"127.0.0.9", 7946, rollout::Endpoint::Kind::ipv4};
    REQUIRE(pick_advertise(fixed));
    CHECK_FALSE(fixed.advertise);
}

TEST_CASE("serve.toml: metrics and dashboard listen on loopback by default", "[serve_config]") {
    /* Both on by default at 127.0.0.1 (not marked as set: a taken default is only logged); "off" turns one off. */
    auto defaults = ServeConfig::parse_toml("[serve]\ngossip_listen = \"127.0.0.9:7946\"\n", "serve.toml");
    REQUIRE(defaults);
    REQUIRE(defaults->metrics_listen);
    CHECK(rollout::format_endpoint(*defaults->metrics_listen) == "127.0.0.1:9464");
    REQUIRE(defaults->dashboard_listen);
    CHECK(rollout::format_endpoint(*defaults->dashboard_listen) == "127.0.0.1:9466");
    CHECK_FALSE(defaults->metrics_listen_set);
    CHECK_FALSE(defaults->dashboard_listen_set);

    auto set = ServeConfig::parse_toml(
        "[serve]\ngossip_listen = \"127.0.0.9:7946\"\nmetrics_listen = \"off\"\ndashboard_listen = \"[::1]:8080\"\n",
        "serve.toml");
    REQUIRE(set);
    CHECK_FALSE(set->metrics_listen);
    CHECK(set->metrics_listen_set);
    REQUIRE(set->dashboard_listen);
    CHECK(rollout::format_endpoint(*set->dashboard_listen) == "[::1]:8080");
    CHECK(set->dashboard_listen_set);
}

TEST_CASE("serve.toml: metrics and dashboard addresses must be IP addresses or off", "[serve_config]") {
    /* A name would need a lookup to listen on; a missing port is not an endpoint. */
    CHECK(error_of("[serve]\ngossip_listen = \"127.0.0.9:7946\"\ndashboard_listen = \"localhost:9466\"\n")
          == "serve.toml:3: serve: dashboard_listen \"localhost:9466\" must be \"off\" or an IP address and port, "
             "e.g. 127.0.0.1:9464");
    CHECK(error_of("[serve]\ngossip_listen = \"127.0.0.9:7946\"\nmetrics_listen = \"127.0.0.1\"\n")
              .find("serve.toml:3: serve: metrics_listen \"127.0.0.1\"")
          == 0);
}
