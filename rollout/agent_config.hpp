// agent.toml: where an agent keeps its state and trust, whom it gossips with,
// how it uses the swarm, its maintenance and reboot windows, how it reboots.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/duration.hpp"
#include "common/error.hpp"
#include "rollout/endpoint.hpp"
#include "rollout/windows.hpp"

namespace patchwave::rollout {

/// The agent's configuration (schema and defaults in docs/formats.md).
/// Required: [agent] state_dir, root, certificate; [gossip] seeds (at least
/// one). Everything else has a default; [swarm], [windows], [reboot],
/// [drift] and [metrics] may be left out entirely.
struct AgentConfig {
    // [agent]
    std::string state_dir;           ///< absolute; identity key, journal, downloads
    std::string root;                ///< absolute path of the pinned trust root
    std::string certificate;         ///< absolute path of this agent's certificate
    std::string system_root = "/";   ///< PATCHWAVE_ROOT for bundle commands
    /// Run bundle commands confined: every mount read-only but system_root and
    /// the bundle directory (agent/confinement.hpp). Needs system_root other than "/".
    bool confine_commands = false;
    std::string log_level = "info";  ///< trace, debug, info, warn, error, critical, off
    Duration status_interval = std::chrono::minutes(5);  ///< status re-published even when nothing changed

    // [gossip]
    Endpoint gossip_listen{"0.0.0.0", 7946, Endpoint::Kind::ipv4};
    std::vector<Endpoint> seeds;
    std::optional<Endpoint> advertise;  ///< the address others reach this agent at (needed for a wildcard listen)
    std::string fleet_key;              ///< absolute path of the fleet key file; empty = no channel encryption
    Duration probe_interval = std::chrono::seconds(1);  ///< SWIM probe period; the other timings scale with it

    // [swarm]
    Endpoint swarm_listen{"0.0.0.0", 6881, Endpoint::Kind::ipv4};
    std::uint64_t upload_limit = 0;            ///< bytes/s, 0 = none
    std::uint64_t download_limit = 0;          ///< bytes/s, 0 = none
    std::optional<std::uint32_t> connections;  ///< peer connection cap; unset = the swarm's default
    std::uint64_t disk_budget = 0;             ///< bytes of downloads kept, 0 = no budget

    // [windows]
    std::vector<Window> maintenance;  ///< empty = any time
    std::vector<Window> reboot;       ///< empty = any time
    UtcOffset utc_offset{0};          ///< windows are read at UTC + this

    // [reboot]
    std::string reboot_command = "systemctl reboot";
    std::string boot_id_file = "/proc/sys/kernel/random/boot_id";
    /// Once a reboot is due, how long the local user has to defer it
    /// (`defer-reboot`) before the agent reboots; 0 reboots at once.
    Duration reboot_notice = std::chrono::minutes(5);

    // [drift]
    std::vector<std::string> watch;                 ///< absolute paths hashed besides bundles' declared paths
    Duration drift_interval = std::chrono::hours(1);  ///< how often tracked paths are re-checked

    // [metrics]
    /// Prometheus metrics (GET /metrics) on this IP address and port; unset = off.
    std::optional<Endpoint> metrics_listen;

    /// Parses agent.toml. Every error is Errc::parse and names the file, the
    /// line and the field: `agent.toml:12: windows: maintenance[0] "Sat
    /// 25:00-05:00" is not a window: hour 25 is not 0-23`. Unknown sections
    /// and keys are errors.
    static Result<AgentConfig> parse_toml(std::string_view text, std::string_view file_name);

    friend bool operator==(const AgentConfig&, const AgentConfig&) = default;
};

/// The log levels log_level accepts, in order of verbosity.
inline constexpr std::string_view kLogLevels[] = {"trace", "debug",    "info", "warn",
                                                  "error", "critical", "off"};

}  // namespace patchwave::rollout
