// Runs test_origin and patchwave-agent processes over a FleetFixture, and reads
// what the agents did: their journals, the sandbox files, the scripts' run counts.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "agent/journal.hpp"
#include "child_process.hpp"
#include "fleet_fixture.hpp"
#include "support/run_command.hpp"

/// Waits for a bundle state; on timeout fails the test with the agent's journal and log.
#define REQUIRE_STATE(harness, agent, rollout_id, bundle_id, state, limit)                                      \
    do {                                                                                                       \
        if (!(harness).wait_for_state(agent, rollout_id, bundle_id, state, limit))                             \
            FAIL("bundle never reached " << patchwave::rollout::to_string(state) << "\n"                       \
                                         << (harness).describe(agent));                                       \
    } while (false)

namespace patchwave::testing {

/// Polls `done` every 100 ms until it holds or `limit` passes (bounded in time and count).
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit);

class AgentHarness {
public:
    explicit AgentHarness(FleetFixture& fleet) : fleet_(fleet) {}
    ~AgentHarness();

    /// Starts test_origin with `env` added (e.g. PATCHWAVE_NOW) and waits for
    /// it to be ready (throws if it does not start).
    void start_origin(const std::map<std::string, std::string>& env = {});
    void stop_origin();
    /// Starts `patchwave-agent run` for `agent`, with `env` added (e.g. PATCHWAVE_CRASH_AT).
    ChildProcess& start_agent(const FixtureAgent& agent, const std::map<std::string, std::string>& env = {});
    /// SIGTERM (clean stop); returns the exit code.
    std::optional<int> stop_agent(const FixtureAgent& agent);
    void kill_agent(const FixtureAgent& agent);
    /// Waits for the agent process to exit by itself (a crash point); true when it did.
    bool wait_for_exit(const FixtureAgent& agent, std::chrono::milliseconds limit);
    bool running(const FixtureAgent& agent);

    /// The agent's journal as on disk (empty when none yet).
    agent::JournalState journal(const FixtureAgent& agent) const;
    std::optional<agent::BundleJournal> bundle(const FixtureAgent& agent, const std::string& rollout,
                                               const rollout::BundleId& id) const;
    /// Waits until the bundle is in `state`; on timeout returns false (the caller INFOs the journal).
    bool wait_for_state(const FixtureAgent& agent, const std::string& rollout, const rollout::BundleId& id,
                        rollout::HostState state, std::chrono::milliseconds limit);
    /// `patchwave-agent ARGS --config <agent.toml>`.
    CommandResult cli(const FixtureAgent& agent, std::vector<std::string> args) const;

    /// How many times `step` of bundle `name` ran on `agent` (the fixture scripts count).
    int runs(const FixtureAgent& agent, const std::string& name, const std::string& step) const;
    /// The agent's stderr log so far (for INFO on failure).
    std::string log(const FixtureAgent& agent) const;
    /// Journal and log tail, for a failure message.
    std::string describe(const FixtureAgent& agent) const;

private:
    FleetFixture& fleet_;
    std::unique_ptr<ChildProcess> origin_;
    std::map<std::size_t, std::unique_ptr<ChildProcess>> agents_;
};

}  // namespace patchwave::testing
