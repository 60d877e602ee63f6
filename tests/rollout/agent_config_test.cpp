#include "rollout/agent_config.hpp"

#include <catch2/catch.hpp>

using namespace patchwave;
using namespace patchwave::rollout;

namespace {

// The agent.toml of shared/CLI.md, verbatim.
constexpr std::string_view kExample = R"([agent]
state_dir = "/var/lib/patchwave-agent"
root = "/etc/patchwave/root"              # pinned trust root
certificate = "/etc/patchwave/agent.cert"
system_root = "/"

[gossip]
listen = "0.0.0.0:7946"
seeds = ["orchestrator.example.net:7946"]

[swarm]
listen = "0.0.0.0:6881"
upload_limit = "20MB/s"                   # optional
download_limit = "0"                      # 0 = none

[windows]
maintenance = ["Sat 01:00-05:00"]         # empty = any time
reboot = ["Sun 02:00-04:00"]

[reboot]
command = "systemctl reboot"
boot_id_file = "/proc/sys/kernel/random/boot_id"
)";

// Only what is required.
constexpr std::string_view kMinimal = R"([agent]
state_dir = "/var/lib/pw"
root = "/etc/pw/root"
certificate = "/etc/pw/agent.cert"

[gossip]
seeds = ["10.0.0.1:7946"]
)";

std::string config_error(std::string_view text) {
    auto config = AgentConfig::parse_toml(text, "agent.toml");
    REQUIRE_FALSE(config.has_value());
    CHECK(config.error().is(Errc::parse));
    return config.error().message();
}

/// kMinimal with `extra` appended.
std::string minimal_plus(std::string_view extra) {
    return std::string(kMinimal) + std::string(extra);
}

}  // namespace

TEST_CASE("the agent.toml of CLI.md parses to its values", "[rollout][agent_config]") {
    // Every field of the documented example lands where it belongs.
    auto config = AgentConfig::parse_toml(kExample, "agent.toml");
    REQUIRE(config);
    CHECK(config->state_dir == "/var/lib/patchwave-agent");
    CHECK(config->root == "/etc/patchwave/root");
    CHECK(config->certificate == "/etc/patchwave/agent.cert");
    CHECK(config->system_root == "/");
    CHECK(format_endpoint(config->gossip_listen) == "0.0.0.0:7946");
    REQUIRE(config->seeds.size() == 1);
    CHECK(config->seeds[0].host == "orchestrator.example.net");
    CHECK(config->seeds[0].port == 7946);
    CHECK(format_endpoint(config->swarm_listen) == "0.0.0.0:6881");
    CHECK(config->upload_limit == 20'000'000);
    CHECK(config->download_limit == 0);
    REQUIRE(config->maintenance.size() == 1);
    CHECK(format_window(config->maintenance[0]) == "Sat 01:00-05:00");
    REQUIRE(config->reboot.size() == 1);
    CHECK(format_window(config->reboot[0]) == "Sun 02:00-04:00");
    CHECK(config->reboot_command == "systemctl reboot");
    CHECK(config->boot_id_file == "/proc/sys/kernel/random/boot_id");
}

TEST_CASE("a minimal agent.toml gets the documented defaults", "[rollout][agent_config]") {
    // Only paths and seeds given: everything else defaults.
    auto config = AgentConfig::parse_toml(kMinimal, "agent.toml");
    REQUIRE(config);
    CHECK(config->system_root == "/");
    CHECK(config->log_level == "info");
    CHECK(format_endpoint(config->gossip_listen) == "0.0.0.0:7946");
    CHECK(format_endpoint(config->swarm_listen) == "0.0.0.0:6881");
    CHECK(config->upload_limit == 0);
    CHECK(config->download_limit == 0);
    CHECK_FALSE(config->connections.has_value());
    CHECK(config->disk_budget == 0);
    CHECK(config->maintenance.empty());
    CHECK(config->reboot.empty());
    CHECK(config->utc_offset == std::chrono::minutes(0));
    CHECK(config->reboot_command == "systemctl reboot");
    CHECK(config->boot_id_file == "/proc/sys/kernel/random/boot_id");
}

TEST_CASE("optional agent settings are read when given", "[rollout][agent_config]") {
    // log level, connections, disk budget, UTC offset and several windows.
    auto config = AgentConfig::parse_toml(minimal_plus(R"(
[swarm]
connections = 50
disk_budget = "2GB"
upload_limit = "512KB/s"

[windows]
maintenance = ["Mon-Fri 22:00-02:00", "Sat,Sun 01:00-03:00"]
utc_offset = "+01:00"
)"),
                                          "agent.toml");
    REQUIRE(config);
    CHECK(config->connections == 50U);
    CHECK(config->disk_budget == 2'000'000'000);
    CHECK(config->upload_limit == 512'000);
    CHECK(config->maintenance.size() == 2);
    CHECK(config->utc_offset == std::chrono::minutes(60));
}

TEST_CASE("the log level is one of the known levels", "[rollout][agent_config]") {
    // "debug" is read; "verbose" is refused at its line.
    std::string text(kMinimal);
    text.insert(text.find("[gossip]"), "log_level = \"debug\"\n");
    auto config = AgentConfig::parse_toml(text, "agent.toml");
    REQUIRE(config);
    CHECK(config->log_level == "debug");
    text.replace(text.find("debug"), 5, "verbose");
    CHECK(config_error(text) ==
          "agent.toml:6: agent: log_level \"verbose\" is not trace, debug, info, warn, error, critical or off");
}

TEST_CASE("a missing [agent] section is an error", "[rollout][agent_config]") {
    // Without [agent] the agent has no state dir or trust.
    CHECK(config_error("[gossip]\nseeds = [\"10.0.0.1:7946\"]\n")
          == "agent.toml:1: missing required key \"agent\"");
}

TEST_CASE("a missing required path names the section line and key", "[rollout][agent_config]") {
    // state_dir has no default: two agents must never share one by accident.
    CHECK(config_error(
              "[agent]\nroot = \"/r\"\ncertificate = \"/c\"\n[gossip]\nseeds = [\"a.b:1\"]\n")
          == "agent.toml:1: agent: missing required key \"state_dir\"");
}

TEST_CASE("paths must be absolute", "[rollout][agent_config]") {
    // A relative certificate path is refused at its line.
    std::string text(kMinimal);
    text.replace(text.find("\"/etc/pw/agent.cert\""), 20, "\"agent.cert\"");
    CHECK(config_error(text)
          == "agent.toml:4: agent: certificate \"agent.cert\" is not an absolute path");
}

TEST_CASE("an unknown key is an error even when it hides a required one",
          "[rollout][agent_config]") {
    // "stat_dir" is reported as unknown, not as a missing state_dir.
    CHECK(config_error(
              "[agent]\nstat_dir = \"/x\"\nroot = \"/r\"\ncertificate = \"/c\"\n[gossip]\nseeds = "
              "[\"a.b:1\"]\n")
          == "agent.toml:2: agent: unknown key \"stat_dir\"");
}

TEST_CASE("an unknown section is an error", "[rollout][agent_config]") {
    // A [confine] table is not part of the schema.
    CHECK(config_error(minimal_plus("\n[confine]\npaths = []\n"))
          == "agent.toml:9: unknown key \"confine\"");
}

TEST_CASE("an unknown key in an optional section is an error", "[rollout][agent_config]") {
    // A typo in [swarm] must not silently drop a limit.
    CHECK(config_error(minimal_plus("\n[swarm]\nupload_limt = \"1MB/s\"\n"))
          == "agent.toml:10: swarm: unknown key \"upload_limt\"");
}

TEST_CASE("seeds are required and not empty", "[rollout][agent_config]") {
    // An agent without a peer can never join the fleet.
    std::string none(kMinimal);
    none.replace(none.find("seeds = [\"10.0.0.1:7946\"]"), 25, "listen = \"0.0.0.0:7000\"");
    CHECK(config_error(none) ==
          "agent.toml:6: gossip: missing required key \"seeds\" (at least one peer, e.g. the orchestrator)");
    std::string empty(kMinimal);
    empty.replace(empty.find("\"10.0.0.1:7946\""), 15, "");
    CHECK(config_error(empty) == "agent.toml:7: gossip: seeds is empty: the agent needs at least one peer to join "
                                 "the fleet");
}

TEST_CASE("a bad seed names its index and line", "[rollout][agent_config]") {
    // The second seed has port 0.
    std::string text(kMinimal);
    text.replace(text.find("seeds = [\"10.0.0.1:7946\"]"), 25,
                 "seeds = [\n  \"10.0.0.1:7946\",\n  \"b.example:0\",\n]");
    CHECK(config_error(text) ==
          "agent.toml:9: gossip: seeds[1] \"b.example:0\" is not a host:port endpoint: port 0 is not 1-65535");
}

TEST_CASE("listen addresses are validated", "[rollout][agent_config]") {
    // An IPv6 listen address without brackets is refused in [swarm].
    CHECK(config_error(minimal_plus("\n[swarm]\nlisten = \"::1:6881\"\n")) ==
          "agent.toml:10: swarm: listen \"::1:6881\" is not a host:port endpoint: IPv6 addresses need brackets: "
          "[ADDRESS]:PORT");
}

TEST_CASE("the connection limit is 1-65535", "[rollout][agent_config]") {
    // 0 connections would never fetch anything.
    CHECK(config_error(minimal_plus("\n[swarm]\nconnections = 0\n"))
          == "agent.toml:10: swarm: connections 0 is not 1-65535");
}

TEST_CASE("a bad rate is refused with the common parser's reason", "[rollout][agent_config]") {
    // "fast" is not a rate; the message names the section, key and line.
    const std::string message =
        config_error(minimal_plus("\n[swarm]\ndownload_limit = \"fast\"\n"));
    CHECK(message.rfind("agent.toml:10: swarm: download_limit \"fast\"", 0) == 0);
}

TEST_CASE("a bad window names its list, index and line", "[rollout][agent_config]") {
    // maintenance[1] has hour 25.
    CHECK(config_error(minimal_plus("\n[windows]\nmaintenance = [\"Sat 01:00-05:00\", \"Sun 25:00-02:00\"]\n")) ==
          "agent.toml:10: windows: maintenance[1] \"Sun 25:00-02:00\" is not a window: hour 25 is not 0-23");
    CHECK(config_error(minimal_plus("\n[windows]\nreboot = [\"Sun 02:00-02:00\"]\n")) ==
          "agent.toml:10: windows: reboot[0] \"Sun 02:00-02:00\" is not a window: start equals end (use 00:00-24:00 "
          "for a whole day)");
}

TEST_CASE("a zone name as UTC offset is refused", "[rollout][agent_config]") {
    // There is no zone database: only fixed offsets.
    CHECK(config_error(minimal_plus("\n[windows]\nutc_offset = \"Europe/Berlin\"\n")) ==
          "agent.toml:10: windows: utc_offset \"Europe/Berlin\" is not a UTC offset: expected +HH:MM or -HH:MM, e.g. "
          "+01:00 (zone names are not supported)");
}

TEST_CASE("the reboot command must not be empty", "[rollout][agent_config]") {
    // An empty command could never reboot the host.
    CHECK(config_error(minimal_plus("\n[reboot]\ncommand = \" \"\n"))
          == "agent.toml:10: reboot: command \" \" is empty");
    CHECK(config_error(minimal_plus("\n[reboot]\nboot_id_file = \"boot_id\"\n"))
          == "agent.toml:10: reboot: boot_id_file \"boot_id\" is not an absolute path");
}

TEST_CASE("a value of the wrong type names the key and line", "[rollout][agent_config]") {
    // seeds given as one string instead of a list.
    std::string text(kMinimal);
    text.replace(text.find("[\"10.0.0.1:7946\"]"), 17, "\"10.0.0.1:7946\"");
    const std::string message = config_error(text);
    CHECK(message.rfind("agent.toml:7: gossip: seeds", 0) == 0);
}

TEST_CASE("TOML syntax errors carry the file and line", "[rollout][agent_config]") {
    // A broken line 2 is reported as line 2.
    const std::string message = config_error("[agent]\nstate_dir = \n");
    CHECK(message.rfind("agent.toml:2: ", 0) == 0);
}

TEST_CASE("the daemon settings of agent.toml are read when given", "[rollout][agent_config]") {
    // status_interval, advertise, fleet_key, probe_interval, reboot notice 0, drift watch and interval.
    std::string text(kMinimal);
    text.insert(text.find("[gossip]"), "status_interval = \"30s\"\n");
    text += R"(advertise = "10.0.0.5:7946"
fleet_key = "/etc/pw/fleet.key"
probe_interval = "2s"

[reboot]
notice = "0"

[drift]
watch = ["/etc/ssh/sshd_config", "/usr/local/bin"]
interval = "15m"
)";
    auto config = AgentConfig::parse_toml(text, "agent.toml");
    REQUIRE(config);
    CHECK(config->status_interval == std::chrono::seconds(30));
    REQUIRE(config->advertise.has_value());
    CHECK(format_endpoint(*config->advertise) == "10.0.0.5:7946");
    CHECK(config->fleet_key == "/etc/pw/fleet.key");
    CHECK(config->probe_interval == std::chrono::seconds(2));
    CHECK(config->reboot_notice == Duration::zero());
    CHECK(config->watch == std::vector<std::string>{"/etc/ssh/sshd_config", "/usr/local/bin"});
    CHECK(config->drift_interval == std::chrono::minutes(15));
}

TEST_CASE("the daemon settings of agent.toml have their documented defaults", "[rollout][agent_config]") {
    // Left out: status every 5m, no advertise, no fleet key, 1s probes, 5m notice, no watch, drift hourly.
    auto config = AgentConfig::parse_toml(kMinimal, "agent.toml");
    REQUIRE(config);
    CHECK(config->status_interval == std::chrono::minutes(5));
    CHECK_FALSE(config->advertise.has_value());
    CHECK(config->fleet_key.empty());
    CHECK(config->probe_interval == std::chrono::seconds(1));
    CHECK(config->reboot_notice == std::chrono::minutes(5));
    CHECK(config->watch.empty());
    CHECK(config->drift_interval == std::chrono::hours(1));
    // Empty [reboot] and [drift] sections change nothing.
    auto empty = AgentConfig::parse_toml(minimal_plus("\n[reboot]\n\n[drift]\n"), "agent.toml");
    REQUIRE(empty);
    CHECK(*empty == *config);
}

TEST_CASE("gossip.advertise must be an endpoint", "[rollout][agent_config]") {
    // A port is required: others connect to it.
    CHECK(config_error(minimal_plus("advertise = \"10.0.0.5\"\n")).rfind("agent.toml:8: gossip: advertise \"10.0.0.5\"",
                                                                       0) == 0);
}

TEST_CASE("gossip.fleet_key must be an absolute path", "[rollout][agent_config]") {
    // Relative to what? The daemon's working directory is not configuration.
    CHECK(config_error(minimal_plus("fleet_key = \"fleet.key\"\n")) ==
          "agent.toml:8: gossip: fleet_key \"fleet.key\" is not an absolute path");
    CHECK(config_error(minimal_plus("fleet_key = \"\"\n")) ==
          "agent.toml:8: gossip: fleet_key \"\" is not an absolute path");
}

TEST_CASE("gossip.probe_interval and agent.status_interval must be above zero", "[rollout][agent_config]") {
    // A zero period would spin.
    CHECK(config_error(minimal_plus("probe_interval = \"0s\"\n")) ==
          "agent.toml:8: gossip: probe_interval must be above zero");
    std::string text(kMinimal);
    text.insert(text.find("[gossip]"), "status_interval = \"0\"\n");
    CHECK(config_error(text) == "agent.toml:6: agent: status_interval must be above zero");
    CHECK(config_error(minimal_plus("probe_interval = \"soon\"\n")).rfind("agent.toml:8: gossip: probe_interval", 0) ==
          0);
}

TEST_CASE("reboot.notice may be zero but must be a duration", "[rollout][agent_config]") {
    // 0 reboots as soon as the reboot is due; "-5m" is not a duration.
    auto zero = AgentConfig::parse_toml(minimal_plus("\n[reboot]\nnotice = \"0s\"\n"), "agent.toml");
    REQUIRE(zero);
    CHECK(zero->reboot_notice == Duration::zero());
    auto ten = AgentConfig::parse_toml(minimal_plus("\n[reboot]\nnotice = \"10m\"\n"), "agent.toml");
    REQUIRE(ten);
    CHECK(ten->reboot_notice == std::chrono::minutes(10));
    CHECK(config_error(minimal_plus("\n[reboot]\nnotice = \"-5m\"\n")).rfind("agent.toml:10: reboot: notice", 0) ==
          0);
}

TEST_CASE("drift.watch paths must be absolute and drift.interval above zero", "[rollout][agent_config]") {
    // A bad watch entry names its index and its own line.
    CHECK(config_error(minimal_plus("\n[drift]\nwatch = [\n  \"/etc/hosts\",\n  \"etc/passwd\",\n]\n")) ==
          "agent.toml:12: drift: watch[1] \"etc/passwd\" is not an absolute path");
    CHECK(config_error(minimal_plus("\n[drift]\ninterval = \"0\"\n")) ==
          "agent.toml:10: drift: interval must be above zero");
    CHECK(config_error(minimal_plus("\n[drift]\nwatch = \"/etc/hosts\"\n")).rfind("agent.toml:10: drift: watch", 0) ==
          0);
    CHECK(config_error(minimal_plus("\n[drift]\npaths = []\n")) == "agent.toml:10: drift: unknown key \"paths\"");
}

TEST_CASE("metrics are off unless metrics.listen names an address", "[rollout][agent_config]") {
    // Off by default and with "off"; an IP address and port turns them on; a name is refused.
    CHECK_FALSE(AgentConfig::parse_toml(kMinimal, "agent.toml")->metrics_listen);
    CHECK_FALSE(AgentConfig::parse_toml(minimal_plus("\n[metrics]\nlisten = \"off\"\n"), "agent.toml")->metrics_listen);
    auto on = AgentConfig::parse_toml(minimal_plus("\n[metrics]\nlisten = \"127.0.0.1:9465\"\n"), "agent.toml");
    REQUIRE(on);
    REQUIRE(on->metrics_listen);
    CHECK(on->metrics_listen->host == "127.0.0.1");
    CHECK(on->metrics_listen->port == 9465);
    CHECK(config_error(minimal_plus("\n[metrics]\nlisten = \"localhost:9465\"\n"))
          == "agent.toml:10: metrics: listen \"localhost:9465\" must be \"off\" or an IP address and port, e.g. "
             "127.0.0.1:9465");
    CHECK(config_error(minimal_plus("\n[metrics]\nport = 9465\n")) == "agent.toml:10: metrics: unknown key \"port\"");
}
