// Operator control of a published rollout: pause, resume, advance and abort as
// signed control records with the next sequence number, refusing impossible moves.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "common/timestamp.hpp"
#include "orchestrator/home.hpp"
#include "orchestrator/rollout_store.hpp"
#include "rollout/control_record.hpp"

namespace patchwave::orchestrator {

struct ControlRequest {
    std::string rollout_id;
    rollout::ControlAction action = rollout::ControlAction::pause;
    /// advance only: a wave number (1 = first) or name; default the next wave.
    std::optional<std::string> to_wave;
    std::string reason;
    std::string operator_name;
    Timestamp now{};
};

/// Signs and stores the next control record. Refuses (Errc::state, exit 1):
/// any action on an aborted rollout (abort is final), pausing a paused one,
/// resuming one that is not paused, advancing to a wave already open or past
/// the last. Errc::not_found for an unknown rollout; Errc::invalid_argument
/// for a --to-wave that names no wave. An advance also resumes a paused rollout.
Result<StoredControl> issue_control(Home& home, const ControlRequest& request);

}  // namespace patchwave::orchestrator
