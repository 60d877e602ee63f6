#include "orchestrator/serve_config.hpp"

#include <cstring>
#include <initializer_list>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include "common/file_io.hpp"
#include "rollout/toml_fields.hpp"

namespace patchwave::orchestrator {
namespace {

using rollout::TomlFields;

template <class T, class U>
Status take_optional(Result<std::optional<T>>&& result, U& out) {
    if (!result) return std::unexpected(std::move(result.error()));
    if (*result) out = std::move(**result);
    return {};
}

Status only_known_keys(TomlFields& table, std::initializer_list<std::string_view> known) {
    for (std::string_view key : known)
        table.mark_seen(key);
    return table.finish();
}

Result<std::string> absolute_path(std::string_view text) {
    if (text.empty() || text.front() != '/') {
        return fail(Errc::invalid_argument, "\"" + std::string(text) + "\" is not an absolute path");
    }
    return std::string(text);
}

// "off", or an IP address and port to serve HTTP on (a name would need a
// lookup to listen, and says nothing about which interface).
Result<std::optional<rollout::Endpoint>> http_listen(std::string_view text) {
    if (text == "off") return std::optional<rollout::Endpoint>();
    auto endpoint = rollout::parse_endpoint(text);
    if (!endpoint) return std::unexpected(std::move(endpoint.error()));
    if (endpoint->kind == rollout::Endpoint::Kind::hostname) {
        return fail(Errc::invalid_argument, "\"" + std::string(text)
                                                + "\" must be \"off\" or an IP address and port, e.g. 127.0.0.1:9464");
    }
    return std::optional<rollout::Endpoint>(std::move(*endpoint));
}

// Durations that drive timers: zero would spin (status_interval allows it: off).
Result<std::optional<Duration>> duration_at_least(TomlFields& table, std::string_view key, Duration minimum) {
    auto value = table.optional_duration(key);
    if (!value) return std::unexpected(std::move(value.error()));
    if (*value && **value < minimum) {
        return fail(table.error_at(key, std::string(key) + " must be at least " + format_duration(minimum)));
    }
    return value;
}

Status read_serve(TomlFields& top, ServeConfig& config) {
    auto table = top.optional_table("serve");
    if (!table) return std::unexpected(std::move(table.error()));
    if (!*table) return {};
    TomlFields& serve = **table;
    if (auto s = only_known_keys(serve, {"gossip_listen", "advertise", "swarm_listen", "fleet_key", "probe_interval",
                                         "gate_interval", "silence_timeout", "status_interval", "super_seed",
                                         "metrics_listen", "dashboard_listen"});
        !s) {
        return s;
    }
    if (auto s = take_optional(serve.optional_parsed("gossip_listen", rollout::parse_endpoint), config.gossip_listen);
        !s) {
        return s;
    }
    if (auto s = take_optional(serve.optional_parsed("advertise", rollout::parse_endpoint), config.advertise); !s) {
        return s;
    }
    if (auto s = take_optional(serve.optional_parsed("swarm_listen", rollout::parse_endpoint), config.swarm_listen);
        !s) {
        return s;
    }
    if (auto s = take_optional(serve.optional_parsed("fleet_key", absolute_path), config.fleet_key); !s) return s;
    const Duration second = std::chrono::seconds(1);
    if (auto s = take_optional(duration_at_least(serve, "probe_interval", second), config.probe_interval); !s) return s;
    if (auto s = take_optional(duration_at_least(serve, "gate_interval", second), config.gate_interval); !s) return s;
    if (auto s = take_optional(duration_at_least(serve, "silence_timeout", second), config.silence_timeout); !s) {
        return s;
    }
    if (auto s = take_optional(duration_at_least(serve, "status_interval", Duration::zero()), config.status_interval);
        !s) {
        return s;
    }
    if (auto s = take_optional(serve.optional_boolean("super_seed"), config.super_seed); !s) return s;
    for (const char* key : {"metrics_listen", "dashboard_listen"}) {
        const bool metrics = std::string_view(key) == "metrics_listen";
        auto value = serve.optional_parsed(key, http_listen);
        if (!value) return std::unexpected(std::move(value.error()));
        if (!*value) continue;
        (metrics ? config.metrics_listen : config.dashboard_listen) = **value;
        (metrics ? config.metrics_listen_set : config.dashboard_listen_set) = true;
    }
    for (const char* key : {"gossip_listen", "swarm_listen"}) {
        const rollout::Endpoint& endpoint =
            std::string_view(key) == "gossip_listen" ? config.gossip_listen : config.swarm_listen;
        if (endpoint.kind == rollout::Endpoint::Kind::hostname) {
            return fail(serve.error_at(key, std::string(key) + " \"" + rollout::format_endpoint(endpoint)
                                                + "\" must be an IP address (listening needs an address, not a name)"));
        }
    }
    if (config.advertise) {
        if (config.advertise->kind == rollout::Endpoint::Kind::hostname || is_wildcard(*config.advertise)) {
            return fail(serve.error_at("advertise", "advertise \"" + rollout::format_endpoint(*config.advertise)
                                                        + "\" must be a specific IP address agents can reach"));
        }
    } else if (is_wildcard(config.gossip_listen)) {
        return fail(serve.error_at("gossip_listen",
                                   "gossip_listen \"" + rollout::format_endpoint(config.gossip_listen)
                                       + "\" is a wildcard address: set advertise = \"IP:PORT\", the address agents "
                                         "reach this orchestrator at"));
    }
    return serve.finish();
}

Status read_hooks(TomlFields& top, ServeConfig& config) {
    auto table = top.optional_table("hooks");
    if (!table) return std::unexpected(std::move(table.error()));
    if (!*table) return {};
    TomlFields& hooks = **table;
    if (auto s = only_known_keys(hooks, {"command", "webhook", "timeout", "retries"}); !s) return s;
    if (auto s = take_optional(hooks.optional_string("command"), config.hooks.command); !s) return s;
    if (auto s = take_optional(hooks.optional_string("webhook"), config.hooks.webhook); !s) return s;
    auto timeout = duration_at_least(hooks, "timeout", std::chrono::seconds(1));
    if (!timeout) return std::unexpected(std::move(timeout.error()));
    if (*timeout) config.hooks.timeout = **timeout;
    auto retries = hooks.optional_integer("retries", 0, 10);
    if (!retries) return std::unexpected(std::move(retries.error()));
    if (*retries) config.hooks.retries = static_cast<std::uint32_t>(**retries);
    if (auto valid = validate(config.hooks); !valid) {
        const std::string_view key = config.hooks.webhook.empty() ? "command" : "webhook";
        return fail(hooks.error_at(key, valid.error().message()));
    }
    return hooks.finish();
}

}  // namespace

bool is_wildcard(const rollout::Endpoint& endpoint) {
    return endpoint.host == "0.0.0.0" || endpoint.host == "::";
}

Result<ServeConfig> ServeConfig::parse_toml(std::string_view text, std::string_view file_name) {
    auto top = TomlFields::parse(text, file_name);
    if (!top) return std::unexpected(std::move(top.error()));
    if (auto s = only_known_keys(*top, {"serve", "hooks"}); !s) return std::unexpected(std::move(s.error()));
    ServeConfig config;
    for (auto* read : {read_serve, read_hooks}) {
        if (auto s = read(*top, config); !s) return std::unexpected(std::move(s.error()));
    }
    return config;
}

Result<ServeConfig> ServeConfig::load(const std::filesystem::path& path) {
    auto text = read_file(path, TomlFields::kMaxDocumentSize);
    if (!text) return std::unexpected(text.error());
    return parse_toml(*text, path.string());
}

Status pick_advertise(ServeConfig& config) {
    if (config.advertise || !is_wildcard(config.gossip_listen)) return {};
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return fail(Errc::io, "cannot list this machine's addresses (getifaddrs)");
    std::optional<std::string> found;
    for (const ifaddrs* entry = list; entry != nullptr && !found; entry = entry->ifa_next) {
        if (entry->ifa_addr == nullptr || entry->ifa_addr->sa_family != AF_INET) continue;
        sockaddr_in address{};
        std::memcpy(&address, entry->ifa_addr, sizeof address);
        if ((ntohl(address.sin_addr.s_addr) >> 24) == 127) continue;
        char text[INET_ADDRSTRLEN] = {};
        if (::inet_ntop(AF_INET, &address.sin_addr, text, sizeof text) != nullptr) found = text;
    }
    ::freeifaddrs(list);
    if (!found) {
        return fail(Errc::not_found, "gossip_listen " + rollout::format_endpoint(config.gossip_listen) +
                                         " is a wildcard and this machine has no non-loopback IPv4 address to "
                                         "advertise: write a serve.toml with advertise = \"IP:PORT\"");
    }
    config.advertise = rollout::Endpoint{*found, config.gossip_listen.port, rollout::Endpoint::Kind::ipv4};
    return {};
}

}  // namespace patchwave::orchestrator
