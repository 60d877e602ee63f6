// The time the agent judges expiry, windows and deadlines by: the wall
// clock, never below the trusted time kept in the journal (agent/trusted_time.hpp).
#include "agent/agent_daemon.hpp"
#include "agent/trusted_time.hpp"

namespace patchwave::agent {

Timestamp AgentDaemon::trusted_now() const {
    const JournalState& state = journal_->state();
    TrustedTimeInput input;
    input.anchor = state.trusted_time;
    input.anchor_boot_id = state.trusted_boot_id;
    input.anchor_boot_seconds = state.trusted_boot_seconds;
    input.boot_id = kernel_boot_id_;
    input.boot_seconds = boot_seconds();
    input.clock = options_.clock();
    input.floor = trusted_floor_;
    return trusted_time(input);
}

Timestamp AgentDaemon::now() const {
    const Timestamp clock = options_.clock();
    if (!journal_) return clock;
    return std::max(clock, trusted_now());
}

void AgentDaemon::stamp_trusted_time(JournalState& next) const {
    next.trusted_time = std::max(next.trusted_time, trusted_now());
    next.trusted_boot_id = kernel_boot_id_;
    next.trusted_boot_seconds = boot_seconds();
}

}  // namespace patchwave::agent
