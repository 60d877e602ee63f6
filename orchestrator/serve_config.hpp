// serve.toml: where `patchwave serve` listens for gossip and the swarm, how
// often it runs the gate, when a host counts as silent, and its event hooks.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/duration.hpp"
#include "common/error.hpp"
#include "orchestrator/hooks.hpp"
#include "rollout/endpoint.hpp"

namespace patchwave::orchestrator {

/// The daemon's settings; every key is optional (defaults below, and in docs/cli.md).
struct ServeConfig {
    // [serve]
    rollout::Endpoint gossip_listen{"0.0.0.0", 7946, rollout::Endpoint::Kind::ipv4};
    /// The address agents reach this orchestrator at: an IP address with the
    /// gossip port. Required in a file whose gossip_listen is a wildcard.
    std::optional<rollout::Endpoint> advertise;
    rollout::Endpoint swarm_listen{"0.0.0.0", 6881, rollout::Endpoint::Kind::ipv4};
    std::string fleet_key;  ///< absolute path of the fleet key file; empty = gossip not encrypted
    Duration probe_interval = std::chrono::seconds(1);    ///< SWIM probe period
    Duration gate_interval = std::chrono::seconds(5);     ///< the gate runs at least this often
    Duration silence_timeout = std::chrono::minutes(10);  ///< a host not heard from for longer is silent
    Duration status_interval = std::chrono::minutes(1);   ///< a health line in the log; 0 = never
    /// Seed new bundles by initial seeding (BEP 16): each piece goes out about
    /// once, so the first wave does not wait on this one uplink. libtorrent
    /// offers a fetcher its first pieces ~10 s after it connects, though: a
    /// small fleet on a fast network finishes sooner without it.
    bool super_seed = true;
    /// Prometheus metrics (GET /metrics); nullopt = off ("off" in the file).
    std::optional<rollout::Endpoint> metrics_listen =
        rollout::Endpoint{"127.0.0.1", 9464, rollout::Endpoint::Kind::ipv4};
    /// The read-only web dashboard; nullopt = off. May equal metrics_listen
    /// (one listener then serves both).
    std::optional<rollout::Endpoint> dashboard_listen =
        rollout::Endpoint{"127.0.0.1", 9466, rollout::Endpoint::Kind::ipv4};
    /// Whether the file set them: an address the file names must be bound
    /// (serve fails otherwise); a default that is taken is only logged.
    bool metrics_listen_set = false;
    bool dashboard_listen_set = false;

    // [hooks]
    HookConfig hooks;

    /// Parses serve.toml. Errc::parse as `FILE:LINE: TABLE: KEY "value" why`;
    /// unknown tables and keys are errors.
    static Result<ServeConfig> parse_toml(std::string_view text, std::string_view file_name);
    /// Reads and parses a file (Errc::not_found when it does not exist).
    static Result<ServeConfig> load(const std::filesystem::path& path);
};

/// True for 0.0.0.0 and ::, which cannot be advertised.
bool is_wildcard(const rollout::Endpoint& endpoint);

/// Fills `config.advertise` when gossip_listen is a wildcard and none is set:
/// the first non-loopback IPv4 address of this machine with the gossip port
/// (what `patchwave serve` without a config file uses). Errc::not_found
/// when the machine has none.
Status pick_advertise(ServeConfig& config);

}  // namespace patchwave::orchestrator
