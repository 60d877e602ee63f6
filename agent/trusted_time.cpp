#include "agent/trusted_time.hpp"

#include <algorithm>
#include <ctime>

namespace patchwave::agent {

Timestamp trusted_time(const TrustedTimeInput& input) {
    std::int64_t elapsed = 0;
    if (input.boot_id.empty() || input.anchor_boot_id.empty()) {
        elapsed = 0;  // no boot to measure from: no time is known to have passed
    } else if (input.anchor_boot_id == input.boot_id) {
        elapsed = std::max<std::int64_t>(input.boot_seconds - input.anchor_boot_seconds, 0);
    } else {
        // Rebooted since the anchor: at least the uptime has passed.
        elapsed = std::max<std::int64_t>(input.boot_seconds, 0);
    }
    const Timestamp tracked = input.anchor + std::chrono::seconds(elapsed);
    const Timestamp chased = std::min(input.clock, input.anchor + std::chrono::seconds(2 * elapsed));
    return std::max({input.anchor, input.floor, tracked, chased});
}

std::int64_t boot_seconds() {
    timespec now{};
    if (::clock_gettime(CLOCK_BOOTTIME, &now) != 0) return 0;
    return static_cast<std::int64_t>(now.tv_sec);
}

}  // namespace patchwave::agent
