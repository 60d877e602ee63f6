#include "rollout/host_state.hpp"

#include <string>

namespace patchwave::rollout {

std::string_view to_string(HostState state) {
    switch (state) {
        case HostState::waiting: return "waiting";
        case HostState::downloading: return "downloading";
        case HostState::ready: return "ready";
        case HostState::installing: return "installing";
        case HostState::reboot_pending: return "reboot-pending";
        case HostState::verifying: return "verifying";
        case HostState::installed: return "installed";
        case HostState::failed: return "failed";
    }
    return "unknown";
}

Result<HostState> host_state_from_string(std::string_view text) {
    for (HostState state : kAllHostStates) {
        if (to_string(state) == text) return state;
    }
    return fail(Errc::invalid_argument,
                "\"" + std::string(text) +
                    "\" is not a host state (waiting, downloading, ready, installing, reboot-pending, verifying, "
                    "installed or failed)");
}

}  // namespace patchwave::rollout
