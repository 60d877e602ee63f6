// Step commands an earlier run of this agent left running: a SIGKILLed or
// crashed agent cannot stop the process group of the step it was running.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace patchwave::agent {

/// Every step command starts with PATCHWAVE_AGENT=<agent id> in its
/// environment; the processes it forks inherit it. That marker, not a
/// process group id recorded before the crash (which may since belong to a
/// stranger), is what identifies a leftover.
inline constexpr std::string_view kStepMarkerVariable = "PATCHWAVE_AGENT";

/// Before recovery reruns or rolls back an interrupted step, the old one must
/// be gone, or both would change the system at once. Sends SIGKILL to every
/// process (other than this one) whose environment holds
/// PATCHWAVE_AGENT=`marker`, and scans again until none is left or `wait` has
/// passed. Returns how many processes it killed. Processes whose environment
/// cannot be read (another user's, already gone) are skipped.
std::size_t kill_leftover_steps(std::string_view marker,
                                std::chrono::milliseconds wait = std::chrono::milliseconds(5'000));

}  // namespace patchwave::agent
