// The apply pipeline end to end with real processes: waves, failing steps with
// rollback, and kill -9 at every journal crash point followed by a restart.
#include <catch2/catch.hpp>

#include "agent_harness.hpp"
#include "common/file_io.hpp"
#include "rollout/status_record.hpp"
#include "support/temp_dir.hpp"

using namespace patchwave;
using namespace patchwave::testing;
using namespace std::chrono_literals;
using rollout::HostState;

namespace {

std::string read_text(const std::filesystem::path& path) {
    auto text = read_file(path, 1 << 20);
    return text ? *text : std::string("(missing)");
}

AgentSpec agent_with(const std::string& key, const std::string& value) {
    AgentSpec spec;
    spec.labels = {{key, value}};
    return spec;
}

BundleSpec bundle_named(const std::string& name, const std::string& version) {
    BundleSpec spec;
    spec.name = name;
    spec.version = version;
    return spec;
}

StepSpec failing(int fail_times, int exit_code) {
    StepSpec spec;
    spec.fail_times = fail_times;
    spec.exit_code = exit_code;
    return spec;
}

FleetFixtureOptions at_ip(std::uint8_t first_ip) {
    FleetFixtureOptions options;
    options.first_ip = first_ip;
    return options;
}

rollout::WaveSpec wave(const std::string& name, const std::string& ring, std::uint32_t retries = 0) {
    rollout::WaveSpec spec;
    spec.name = name;
    spec.select = {{"ring", ring}};
    spec.retries = retries;
    return spec;
}

}  // namespace

TEST_CASE("an agent applies a bundle only in its open wave and reports it to the origin", "[agent-process]") {
    TempDir temp;
    FleetFixture fleet(temp.path() / "fleet", at_ip(20));
    const FixtureAgent& test_host = fleet.add_agent(agent_with("ring", "test"));
    const FixtureAgent& prod_host = fleet.add_agent(agent_with("ring", "prod"));
    const FixtureBundle& bundle = fleet.add_bundle(bundle_named("openssl", "3.0.22"));
    fleet.write_manifest(fleet.make_manifest("patch-1", {&bundle}, 1, {wave("test", "test"), wave("prod", "prod")}));

    AgentHarness harness(fleet);
    harness.start_origin();
    harness.start_agent(test_host);
    harness.start_agent(prod_host);
    REQUIRE_STATE(harness, test_host, "patch-1", bundle.id(), HostState::installed, 60s);
    CHECK(read_text(test_host.sandbox("opt/openssl/VERSION")) == "3.0.22\n");
    CHECK(harness.runs(test_host, "openssl", "install") == 1);
    CHECK(harness.runs(test_host, "openssl", "verify") == 1);
    CHECK(harness.runs(test_host, "openssl", "rollback") == 0);

    // The prod host is targeted (journaled, reported) but its wave is closed.
    auto waiting = harness.bundle(prod_host, "patch-1", bundle.id());
    REQUIRE(waiting);
    CHECK(waiting->state == HostState::waiting);
    CHECK(harness.runs(prod_host, "openssl", "install") == 0);

    // Its signed status reaches the origin.
    const auto status_file = fleet.origin_status_dir() / (rollout::to_hex(test_host.id) + ".json");
    REQUIRE(eventually(
        [&] {
            auto status = rollout::StatusRecord::parse_json(read_text(status_file));
            return status && !status->rollouts.empty() && !status->rollouts[0].bundles.empty() &&
                   status->rollouts[0].bundles[0].state == HostState::installed;
        },
        30s));

    // The operator opens wave 2: the prod host installs.
    fleet.write_control("patch-1", 1, rollout::ControlAction::advance, 1);
    REQUIRE_STATE(harness, prod_host, "patch-1", bundle.id(), HostState::installed, 60s);
    CHECK(read_text(prod_host.sandbox("opt/openssl/VERSION")) == "3.0.22\n");

    // `status` talks to the running daemon.
    auto status = harness.cli(test_host, {"status", "--json"});
    CHECK(status.exit_code == 0);
    CHECK(status.out.find("\"installed\"") != std::string::npos);
    CHECK(status.out.find("\"running\": true") != std::string::npos);
}

TEST_CASE("a failing step is rolled back and reported failed with its step and output", "[agent-process]") {
    struct Case {
        std::string step;
        BundleSpec spec;
    };
    std::vector<Case> cases;
    {
        BundleSpec spec = bundle_named("pre", "1");
        spec.precheck = failing(-1, 4);
        cases.push_back({"precheck", spec});
    }
    {
        BundleSpec spec = bundle_named("ins", "1");
        spec.install = failing(-1, 5);
        cases.push_back({"install", spec});
    }
    {
        BundleSpec spec = bundle_named("ver", "1");
        spec.verify = failing(-1, 6);
        cases.push_back({"verify", spec});
    }
    TempDir temp;
    FleetFixture fleet(temp.path() / "fleet", at_ip(40));
    std::vector<const FixtureAgent*> agents;
    std::vector<const FixtureBundle*> bundles;
    for (std::size_t i = 0; i < cases.size(); ++i) {
        agents.push_back(&fleet.add_agent(agent_with("case", cases[i].step)));
        bundles.push_back(&fleet.add_bundle(cases[i].spec));
        rollout::WaveSpec only;
        only.name = "only";
        only.select = {{"case", cases[i].step}};
        fleet.write_manifest(fleet.make_manifest("fail-" + cases[i].step, {bundles[i]}, 1, {only}));
    }
    AgentHarness harness(fleet);
    harness.start_origin();
    for (const auto* agent : agents) harness.start_agent(*agent);
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const FixtureAgent& agent = *agents[i];
        const std::string rollout_id = "fail-" + cases[i].step;
        INFO("case " << cases[i].step);
        REQUIRE_STATE(harness, agent, rollout_id, bundles[i]->id(), HostState::failed, 60s);
        auto failed = harness.bundle(agent, rollout_id, bundles[i]->id());
        REQUIRE(failed);
        CHECK(failed->failed_step == cases[i].step);
        CHECK(failed->failure_reason.find("exit code") != std::string::npos);
        CHECK(failed->failure_reason.find("failing (test") != std::string::npos);  // the script's last line
        CHECK(failed->rolled_back);
        CHECK(harness.runs(agent, cases[i].spec.name, "rollback") == 1);
        // Rolled back: nothing the install wrote is left.
        CHECK_FALSE(std::filesystem::exists(agent.sandbox("opt/" + cases[i].spec.name + "/VERSION")));
    }
}

TEST_CASE("a failed step is retried as many times as the wave allows", "[agent-process]") {
    TempDir temp;
    FleetFixture fleet(temp.path() / "fleet", at_ip(50));
    const FixtureAgent& agent = fleet.add_agent(agent_with("ring", "prod"));
    BundleSpec spec = bundle_named("flaky", "2");
    spec.install = failing(1, 7);
    const FixtureBundle& bundle = fleet.add_bundle(spec);
    fleet.write_manifest(fleet.make_manifest("retry", {&bundle}, 1, {wave("prod", "prod", /*retries=*/1)}));
    AgentHarness harness(fleet);
    harness.start_origin();
    harness.start_agent(agent);
    // First install fails, is rolled back, and after the 10 s backoff the retry succeeds.
    REQUIRE_STATE(harness, agent, "retry", bundle.id(), HostState::installed, 60s);
    CHECK(harness.runs(agent, "flaky", "install") == 2);
    CHECK(harness.runs(agent, "flaky", "rollback") == 1);
    CHECK(harness.bundle(agent, "retry", bundle.id())->attempts == 1);
}
