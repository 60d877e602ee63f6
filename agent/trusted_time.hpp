// The agent's trusted time: a never-decreasing lower bound on the real time,
// so a clock set back cannot revive what expired, and a clock far ahead does no lasting harm.
#pragma once

#include <cstdint>
#include <string>

#include "common/timestamp.hpp"

namespace patchwave::agent {

/// What the trusted time is computed from. The anchor is what the journal
/// holds: the trusted time last persisted, with the boot id and the
/// boot-time clock (CLOCK_BOOTTIME: seconds since boot, suspend included)
/// at that moment.
struct TrustedTimeInput {
    Timestamp anchor{};          ///< journal trusted_time
    std::string anchor_boot_id;  ///< journal trusted_boot_id ("" when never anchored)
    std::int64_t anchor_boot_seconds = 0;
    std::string boot_id;            ///< this boot
    std::int64_t boot_seconds = 0;  ///< CLOCK_BOOTTIME now
    Timestamp clock{};              ///< the wall clock now (PATCHWAVE_NOW shifts it in tests)
    Timestamp floor{};              ///< a signed lower bound: the agent certificate's issue time
};

/// The latest of:
///  - the anchor, and `floor`;
///  - the anchor plus the real time since it (boot-time clock; across a
///    reboot only the time since this boot is known);
///  - the wall clock, but no further than the anchor plus twice that real
///    time: a clock that jumps ahead is followed at twice the speed of real
///    time at most, so a clock wrong for N hours leaves the trusted time at
///    most N hours ahead once it is corrected, and a host that was off for
///    N hours catches up within N hours of uptime.
/// The agent judges expiry at max(wall clock, trusted time).
Timestamp trusted_time(const TrustedTimeInput& input);

/// The kernel's boot id: the boot CLOCK_BOOTTIME counts from. The agent
/// anchors its trusted time to this one, not to `reboot.boot_id_file`
/// (which may be another file: tests fake reboots with one).
inline constexpr const char* kKernelBootIdFile = "/proc/sys/kernel/random/boot_id";

/// Seconds on CLOCK_BOOTTIME (0 if it cannot be read).
std::int64_t boot_seconds();

}  // namespace patchwave::agent
