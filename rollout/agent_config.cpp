#include "rollout/agent_config.hpp"

#include <algorithm>
#include <initializer_list>
#include <utility>

#include "rollout/toml_fields.hpp"

namespace patchwave::rollout {
namespace {

// Stores a required value, or passes its error on.
template <class T, class U>
Status take(Result<T>&& result, U& out) {
    if (!result)
        return std::unexpected(std::move(result.error()));
    out = std::move(*result);
    return {};
}

// Stores an optional value when present; the default stays otherwise.
template <class T, class U>
Status take_optional(Result<std::optional<T>>&& result, U& out) {
    if (!result)
        return std::unexpected(std::move(result.error()));
    if (*result)
        out = std::move(**result);
    return {};
}

// Parsers in the common/ style: the message starts with the quoted value, so
// TomlFields turns it into `KEY "value" why` at the value's line.
Result<std::string> absolute_path(std::string_view text) {
    if (text.empty() || text.front() != '/') {
        return fail(Errc::invalid_argument,
                    "\"" + std::string(text) + "\" is not an absolute path");
    }
    return std::string(text);
}

Result<std::string> log_level(std::string_view text) {
    if (std::find(std::begin(kLogLevels), std::end(kLogLevels), text) == std::end(kLogLevels)) {
        return fail(Errc::invalid_argument,
                    "\"" + std::string(text)
                        + "\" is not trace, debug, info, warn, error, critical or off");
    }
    return std::string(text);
}

Result<std::string> command(std::string_view text) {
    if (text.find_first_not_of(" \t") == std::string_view::npos) {
        return fail(Errc::invalid_argument, "\"" + std::string(text) + "\" is empty");
    }
    return std::string(text);
}

// A duration that must be above zero (a zero period would spin).
Result<std::optional<Duration>> positive_duration(TomlFields& table, std::string_view key) {
    auto value = table.optional_duration(key);
    if (!value)
        return std::unexpected(std::move(value.error()));
    if (*value && **value <= Duration::zero())
        return fail(table.error_at(key, std::string(key) + " must be above zero"));
    return value;
}

// A list of strings each converted by `parse`; an element's error names
// `KEY[i]` and the element's own line.
template <class T, class Parse>
Result<std::optional<std::vector<T>>> parsed_list(TomlFields& table, std::string_view key,
                                                  Parse&& parse) {
    auto texts = table.optional_located_string_array(key);
    if (!texts)
        return std::unexpected(std::move(texts.error()));
    if (!*texts)
        return std::optional<std::vector<T>>{};
    std::vector<T> out;
    for (std::size_t i = 0; i < (*texts)->size(); ++i) {
        const TomlString& text = (**texts)[i];
        auto value = parse(std::string_view(text.value));
        if (!value) {
            return fail(table.error_at_line(text.line, std::string(key) + "[" + std::to_string(i)
                                                           + "] " + value.error().message()));
        }
        out.push_back(std::move(*value));
    }
    return std::optional<std::vector<T>>(std::move(out));
}

// Refuses keys outside `known` before any value is read, so a misspelt
// required key reads as `unknown key "stat_dir"` rather than as missing.
Status only_known_keys(TomlFields& table, std::initializer_list<std::string_view> known) {
    for (std::string_view key : known)
        table.mark_seen(key);
    return table.finish();
}

Status read_agent(TomlFields& top, AgentConfig& config) {
    auto table = top.table("agent");
    if (!table)
        return std::unexpected(std::move(table.error()));
    TomlFields& agent = *table;
    if (auto s = only_known_keys(agent,
                                 {"state_dir", "root", "certificate", "system_root", "log_level", "status_interval",
                                  "confine_commands"});
        !s) {
        return s;
    }
    if (auto s = take(agent.parsed("state_dir", absolute_path), config.state_dir); !s)
        return s;
    if (auto s = take(agent.parsed("root", absolute_path), config.root); !s)
        return s;
    if (auto s = take(agent.parsed("certificate", absolute_path), config.certificate); !s)
        return s;
    if (auto s =
            take_optional(agent.optional_parsed("system_root", absolute_path), config.system_root);
        !s)
        return s;
    if (auto s = take_optional(agent.optional_parsed("log_level", log_level), config.log_level); !s)
        return s;
    if (auto s = take_optional(positive_duration(agent, "status_interval"), config.status_interval); !s)
        return s;
    if (auto s = take_optional(agent.optional_boolean("confine_commands"), config.confine_commands); !s)
        return s;
    if (config.confine_commands && config.system_root == "/") {
        return fail(agent.error_at("confine_commands",
                                   "confine_commands = true needs a system_root other than \"/\": confined to "
                                   "the whole file system, commands would be confined to nothing"));
    }
    return agent.finish();
}

Status read_gossip(TomlFields& top, AgentConfig& config) {
    auto table = top.table("gossip");
    if (!table)
        return std::unexpected(std::move(table.error()));
    TomlFields& gossip = *table;
    if (auto s = only_known_keys(gossip, {"listen", "seeds", "advertise", "fleet_key", "probe_interval"}); !s)
        return s;
    if (auto s = take_optional(gossip.optional_parsed("advertise", parse_endpoint), config.advertise); !s)
        return s;
    if (auto s = take_optional(gossip.optional_parsed("fleet_key", absolute_path), config.fleet_key); !s)
        return s;
    if (auto s = take_optional(positive_duration(gossip, "probe_interval"), config.probe_interval); !s)
        return s;
    if (auto s =
            take_optional(gossip.optional_parsed("listen", parse_endpoint), config.gossip_listen);
        !s)
        return s;
    if (!gossip.contains("seeds")) {
        return fail(gossip.error(
            "missing required key \"seeds\" (at least one peer, e.g. the orchestrator)"));
    }
    if (auto s =
            take_optional(parsed_list<Endpoint>(gossip, "seeds", parse_endpoint), config.seeds);
        !s)
        return s;
    if (config.seeds.empty()) {
        return fail(gossip.error_at(
            "seeds", "seeds is empty: the agent needs at least one peer to join the fleet"));
    }
    return gossip.finish();
}

Status read_swarm(TomlFields& top, AgentConfig& config) {
    auto table = top.optional_table("swarm");
    if (!table)
        return std::unexpected(std::move(table.error()));
    if (!*table)
        return {};
    TomlFields& swarm = **table;
    if (auto s = only_known_keys(
            swarm, {"listen", "upload_limit", "download_limit", "disk_budget", "connections"});
        !s) {
        return s;
    }
    if (auto s =
            take_optional(swarm.optional_parsed("listen", parse_endpoint), config.swarm_listen);
        !s)
        return s;
    if (auto s = take_optional(swarm.optional_rate("upload_limit"), config.upload_limit); !s)
        return s;
    if (auto s = take_optional(swarm.optional_rate("download_limit"), config.download_limit); !s)
        return s;
    if (auto s = take_optional(swarm.optional_size("disk_budget"), config.disk_budget); !s)
        return s;
    auto connections = swarm.optional_integer("connections", 1, 65535);
    if (!connections)
        return std::unexpected(std::move(connections.error()));
    if (*connections)
        config.connections = static_cast<std::uint32_t>(**connections);
    return swarm.finish();
}

Status read_windows(TomlFields& top, AgentConfig& config) {
    auto table = top.optional_table("windows");
    if (!table)
        return std::unexpected(std::move(table.error()));
    if (!*table)
        return {};
    TomlFields& windows = **table;
    if (auto s = only_known_keys(windows, {"maintenance", "reboot", "utc_offset"}); !s)
        return s;
    if (auto s = take_optional(parsed_list<Window>(windows, "maintenance", parse_window),
                               config.maintenance);
        !s) {
        return s;
    }
    if (auto s = take_optional(parsed_list<Window>(windows, "reboot", parse_window), config.reboot);
        !s)
        return s;
    if (auto s = take_optional(windows.optional_parsed("utc_offset", parse_utc_offset),
                               config.utc_offset);
        !s) {
        return s;
    }
    return windows.finish();
}

Status read_reboot(TomlFields& top, AgentConfig& config) {
    auto table = top.optional_table("reboot");
    if (!table)
        return std::unexpected(std::move(table.error()));
    if (!*table)
        return {};
    TomlFields& reboot = **table;
    if (auto s = only_known_keys(reboot, {"command", "boot_id_file", "notice"}); !s)
        return s;
    if (auto s = take_optional(reboot.optional_duration("notice"), config.reboot_notice); !s)
        return s;
    if (auto s = take_optional(reboot.optional_parsed("command", command), config.reboot_command);
        !s)
        return s;
    if (auto s = take_optional(reboot.optional_parsed("boot_id_file", absolute_path),
                               config.boot_id_file);
        !s) {
        return s;
    }
    return reboot.finish();
}

Status read_drift(TomlFields& top, AgentConfig& config) {
    auto table = top.optional_table("drift");
    if (!table)
        return std::unexpected(std::move(table.error()));
    if (!*table)
        return {};
    TomlFields& drift = **table;
    if (auto s = only_known_keys(drift, {"watch", "interval"}); !s)
        return s;
    if (auto s = take_optional(parsed_list<std::string>(drift, "watch", absolute_path), config.watch); !s)
        return s;
    if (auto s = take_optional(positive_duration(drift, "interval"), config.drift_interval); !s)
        return s;
    return drift.finish();
}

// "off", or an IP address and port: listening needs an address, not a name.
Result<std::optional<Endpoint>> listen_address(std::string_view text) {
    if (text == "off")
        return std::optional<Endpoint>();
    auto endpoint = parse_endpoint(text);
    if (!endpoint)
        return std::unexpected(std::move(endpoint.error()));
    if (endpoint->kind == Endpoint::Kind::hostname) {
        return fail(Errc::invalid_argument,
                    "\"" + std::string(text) + "\" must be \"off\" or an IP address and port, e.g. 127.0.0.1:9465");
    }
    return std::optional<Endpoint>(std::move(*endpoint));
}

Status read_metrics(TomlFields& top, AgentConfig& config) {
    auto table = top.optional_table("metrics");
    if (!table)
        return std::unexpected(std::move(table.error()));
    if (!*table)
        return {};
    TomlFields& metrics = **table;
    if (auto s = only_known_keys(metrics, {"listen"}); !s)
        return s;
    auto listen = metrics.optional_parsed("listen", listen_address);
    if (!listen)
        return std::unexpected(std::move(listen.error()));
    if (*listen)
        config.metrics_listen = **listen;
    return metrics.finish();
}

}  // namespace

Result<AgentConfig> AgentConfig::parse_toml(std::string_view text, std::string_view file_name) {
    auto top = TomlFields::parse(text, file_name);
    if (!top)
        return std::unexpected(std::move(top.error()));
    if (auto status = only_known_keys(*top, {"agent", "gossip", "swarm", "windows", "reboot", "drift", "metrics"});
        !status) {
        return std::unexpected(std::move(status.error()));
    }
    AgentConfig config;
    // Sections in the documented order, so the first error an operator sees
    // is the first one in a conventionally ordered file.
    for (auto* read : {read_agent, read_gossip, read_swarm, read_windows, read_reboot, read_drift, read_metrics}) {
        if (auto status = read(*top, config); !status)
            return std::unexpected(std::move(status.error()));
    }
    return config;
}

}  // namespace patchwave::rollout
