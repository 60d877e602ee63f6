// kill -9 at every journal state: each agent dies at one crash point (the
// test-only PATCHWAVE_CRASH_AT), restarts, and must end where it should,
// never skipping a step that may have run half nor reporting it installed.
#include <catch2/catch.hpp>

#include "agent_harness.hpp"
#include "common/file_io.hpp"
#include "support/temp_dir.hpp"

using namespace patchwave;
using namespace patchwave::testing;
using namespace std::chrono_literals;
using rollout::HostState;

namespace {

AgentSpec agent_in(const std::string& ring) {
    AgentSpec spec;
    spec.labels = {{"ring", ring}};
    return spec;
}

FleetFixtureOptions at_ip(std::uint8_t first_ip) {
    FleetFixtureOptions options;
    options.first_ip = first_ip;
    return options;
}

std::string read_text(const std::filesystem::path& path) {
    auto text = read_file(path, 1 << 20);
    return text ? *text : std::string("(missing)");
}

// Starts the agent with the crash point armed and waits for it to die there.
void crash_at(AgentHarness& harness, const FixtureAgent& agent, const std::string& point) {
    harness.start_agent(agent, {{"PATCHWAVE_CRASH_AT", point}});
    if (!harness.wait_for_exit(agent, 60s))
        FAIL("the agent never reached crash point " << point << "\n" << harness.describe(agent));
}

}  // namespace

TEST_CASE("kill -9 at every journal state of an install, then restart: installed, never half-applied",
          "[agent-process][crash]") {
    const std::vector<std::string> points = {
        "after-commit:reconcile",            // the rollout is journaled, the download about to start
        "after-commit:ready",                // downloaded and verified
        "after-commit:installing/precheck",  // about to run precheck
        "after-commit:installing/install",   // about to run install
        "step-done:install",                 // install ran to the end, its result not journaled
        "after-commit:installing/verify",    // installed, about to verify
        "step-done:verify",                  // verified, not journaled
        "after-commit:step-done/verify",     // installed is journaled, status not yet sent
    };
    TempDir temp;
    FleetFixture fleet(temp.path() / "fleet", at_ip(120));
    std::vector<const FixtureAgent*> agents;
    for (std::size_t i = 0; i < points.size(); ++i) agents.push_back(&fleet.add_agent(agent_in("prod")));
    BundleSpec spec;
    spec.name = "libfoo";
    spec.version = "1.2.3";
    spec.precheck.present = true;
    const FixtureBundle& bundle = fleet.add_bundle(spec);
    fleet.write_manifest(fleet.make_manifest("crash", {&bundle}));
    AgentHarness harness(fleet);
    harness.start_origin();

    for (std::size_t i = 0; i < points.size(); ++i) crash_at(harness, *agents[i], points[i]);
    for (const auto* agent : agents) harness.start_agent(*agent);
    for (std::size_t i = 0; i < points.size(); ++i) {
        const FixtureAgent& agent = *agents[i];
        INFO("crash point " << points[i]);
        REQUIRE_STATE(harness, agent, "crash", bundle.id(), HostState::installed, 60s);
        CHECK(read_text(agent.sandbox("opt/libfoo/VERSION")) == "1.2.3\n");
        const int installs = harness.runs(agent, "libfoo", "install");
        const int rollbacks = harness.runs(agent, "libfoo", "rollback");
        const int verifies = harness.runs(agent, "libfoo", "verify");
        // Every run of install after the first was preceded by a rollback.
        CHECK(installs >= 1);
        CHECK(rollbacks >= installs - 1);
        const auto& point = points[i];
        if (point == "after-commit:installing/precheck" || point == "after-commit:installing/install") {
            // The step may have run (the journal cannot tell): undone, then done once.
            CHECK(installs == 1);
            CHECK(rollbacks == 1);
        } else if (point == "step-done:install") {
            CHECK(installs == 2);
            CHECK(rollbacks == 1);
        } else if (point == "step-done:verify") {
            // Verify only looks: it is run again, the good install is kept.
            CHECK(installs == 1);
            CHECK(rollbacks == 0);
            CHECK(verifies == 2);
        } else {
            CHECK(installs == 1);
            CHECK(rollbacks == 0);
            CHECK(verifies == 1);
        }
        // A status record follows every transition (100 ms later).
        CHECK(eventually([&] { return harness.journal(agent).status_sequence >= 1; }, 10s));
    }
}

TEST_CASE("kill -9 while a rollback runs: the rollback runs again and the bundle ends failed, rolled back",
          "[agent-process][crash]") {
    TempDir temp;
    FleetFixture fleet(temp.path() / "fleet", at_ip(140));
    const FixtureAgent& agent = fleet.add_agent(agent_in("prod"));
    BundleSpec spec;
    spec.name = "broken";
    spec.version = "9";
    spec.install.fail_times = -1;
    const FixtureBundle& bundle = fleet.add_bundle(spec);
    fleet.write_manifest(fleet.make_manifest("crash-rollback", {&bundle}));
    AgentHarness harness(fleet);
    harness.start_origin();
    crash_at(harness, agent, "after-commit:installing/rollback");
    harness.start_agent(agent);
    REQUIRE_STATE(harness, agent, "crash-rollback", bundle.id(), HostState::failed, 60s);
    auto failed = harness.bundle(agent, "crash-rollback", bundle.id());
    REQUIRE(failed);
    CHECK(failed->failed_step == "install");
    CHECK(failed->rolled_back);
    CHECK(harness.runs(agent, "broken", "install") == 1);
    CHECK(harness.runs(agent, "broken", "rollback") == 1);  // the crash came before the first rollback ran
}

TEST_CASE("kill -9 around a reboot: the reboot still happens once the agent is back, then it is confirmed",
          "[agent-process][crash][reboot]") {
    const std::vector<std::string> points = {
        "after-commit:step-done/verify",  // reboot-pending journaled
        "after-commit:reboot",            // reboot requested, command not yet run
    };
    TempDir temp;
    FleetFixture fleet(temp.path() / "fleet", at_ip(150));
    std::vector<const FixtureAgent*> agents;
    for (std::size_t i = 0; i < points.size(); ++i) {
        AgentSpec agent_spec = agent_in("prod");
        agent_spec.extra["reboot"] = {"notice = \"0s\""};  // no user to wait for
        agents.push_back(&fleet.add_agent(agent_spec));
    }
    BundleSpec spec;
    spec.name = "kernel";
    spec.version = "6.1.9";
    spec.reboot = true;
    const FixtureBundle& bundle = fleet.add_bundle(spec);
    fleet.write_manifest(fleet.make_manifest("crash-reboot", {&bundle}));
    AgentHarness harness(fleet);
    harness.start_origin();
    for (std::size_t i = 0; i < points.size(); ++i) crash_at(harness, *agents[i], points[i]);
    for (const auto* agent : agents) harness.start_agent(*agent);
    for (std::size_t i = 0; i < points.size(); ++i) {
        const FixtureAgent& agent = *agents[i];
        INFO("crash point " << points[i]);
        // Never installed before the reboot.
        REQUIRE_STATE(harness, agent, "crash-reboot", bundle.id(), HostState::reboot_pending, 60s);
        REQUIRE(eventually([&] { return std::filesystem::exists(agent.reboot_log); }, 30s));
        CHECK(harness.bundle(agent, "crash-reboot", bundle.id())->state == HostState::reboot_pending);
        harness.stop_agent(agent);
        agent.new_boot_id();
        harness.start_agent(agent);
        REQUIRE_STATE(harness, agent, "crash-reboot", bundle.id(), HostState::installed, 60s);
        CHECK(harness.runs(agent, "kernel", "install") == 1);
        CHECK(harness.runs(agent, "kernel", "verify") == 2);  // before and after the reboot
    }
}
