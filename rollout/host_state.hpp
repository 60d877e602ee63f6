// The states a host reports for each bundle of a rollout (the list in CLI.md),
// with the one text form used in status records, JSON and tables.
#pragma once

#include <array>
#include <string_view>

#include "common/error.hpp"

namespace patchwave::rollout {

enum class HostState {
    waiting,         ///< targeted, not started (wave closed, outside window, earlier bundle pending)
    downloading,     ///< fetching from the swarm
    ready,           ///< content verified against the bundle id
    installing,      ///< precheck / install / verify running
    reboot_pending,  ///< installed, needs a reboot to take effect
    verifying,       ///< rebooted, verify running again
    installed,       ///< effective and verified
    failed,          ///< a step failed (reason, and whether it was rolled back, alongside)
};

inline constexpr std::array<HostState, 8> kAllHostStates{
    HostState::waiting,        HostState::downloading, HostState::ready,     HostState::installing,
    HostState::reboot_pending, HostState::verifying,   HostState::installed, HostState::failed};

/// "waiting", "downloading", "ready", "installing", "reboot-pending",
/// "verifying", "installed", "failed".
std::string_view to_string(HostState state);
Result<HostState> host_state_from_string(std::string_view text);

}  // namespace patchwave::rollout
