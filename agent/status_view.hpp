// What `patchwave-agent status` shows: this host's bundles and their states,
// the reboot state and deferrals left, drift, refusals; as JSON and as text.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/journal.hpp"

namespace patchwave::agent {

struct StatusViewInput {
    const JournalState* journal = nullptr;
    bool running = false;  ///< from the daemon (live) or from the journal file (daemon down)
    std::string agent;     ///< hex agent id, when known
    std::string host;
    std::string boot_id;
    std::map<std::string, std::string> notes;  ///< rollout id -> why it is not progressing
    std::map<rollout::BundleId, std::string> names;  ///< "name version" of bundles, when known
    std::optional<rollout::RebootStatus> reboot;     ///< live reboot view; else from the journal
    std::optional<std::uint32_t> deferrals_left;
    std::string reboot_note;
    std::vector<rollout::Refusal> refused;  ///< what the agent refused lately, oldest first
};

/// Fields: running, agent, host, boot_id, rollouts[{rollout_id, manifest_version, note,
/// bundles[{id, name, state, since, step, failed_step, failure_reason, rolled_back, attempts,
/// bytes_done, bytes_total}]}], reboot{pending, pending_since, deadline, scheduled_for,
/// deferrals_used, deferrals_left, note}, drift[{path, expected, actual, bundle, detected}],
/// refused[{subject, reason, first, last, count}].
nlohmann::json status_view_json(const StatusViewInput& input);

/// A compact table for people.
std::string status_view_text(const nlohmann::json& view);

}  // namespace patchwave::agent
