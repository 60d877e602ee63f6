// Reboots with real processes: a bundle needing one stays reboot-pending until
// the boot id changes, one reboot serves a batch, post-reboot verify failures
// roll back, deferrals are counted and bounded, and the deadline beats the window.
#include <cstdio>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "agent_harness.hpp"
#include "common/file_io.hpp"
#include "support/temp_dir.hpp"

using namespace patchwave;
using namespace patchwave::testing;
using namespace std::chrono_literals;
using rollout::HostState;

namespace {

FleetFixtureOptions at_ip(std::uint8_t first_ip) {
    FleetFixtureOptions options;
    options.first_ip = first_ip;
    return options;
}

BundleSpec rebooting_bundle(const std::string& name, const std::string& version) {
    BundleSpec spec;
    spec.name = name;
    spec.version = version;
    spec.reboot = true;
    return spec;
}

/// An agent whose reboot notice is `notice` (a whole-second duration).
AgentSpec agent_with_notice(const std::string& notice) {
    AgentSpec spec;
    spec.extra["reboot"] = {"notice = \"" + notice + "\""};
    return spec;
}

/// The epoch seconds the fixture's reboot.sh logged, one per run.
std::vector<std::int64_t> reboots(const FixtureAgent& agent) {
    std::vector<std::int64_t> times;
    auto text = read_file(agent.reboot_log, 1 << 20);
    if (!text) return times;
    std::istringstream lines(*text);
    std::string word;
    std::int64_t time = 0;
    for (int line = 0; line < 10'000 && (lines >> word >> time); ++line)
        times.push_back(time);
    return times;
}

std::string read_text(const std::filesystem::path& path) {
    auto text = read_file(path, 1 << 20);
    return text ? *text : std::string("(missing)");
}

/// What a real reboot does to the agent: its process ends and it comes back
/// with a new boot id. Waits for the reboot command to have run `expected` times first.
void reboot_agent(AgentHarness& harness, const FixtureAgent& agent, std::size_t expected) {
    if (!eventually([&] { return reboots(agent).size() >= expected; }, 20s))
        FAIL("the reboot command never ran\n" << harness.describe(agent));
    harness.stop_agent(agent);
    agent.new_boot_id();
    harness.start_agent(agent);
}

nlohmann::json status_json(const AgentHarness& harness, const FixtureAgent& agent) {
    auto status = harness.cli(agent, {"status", "--json"});
    INFO("status --json: exit " << status.exit_code << "\n" << status.out << status.err);
    REQUIRE(status.exit_code == 0);
    auto view = nlohmann::json::parse(status.out, nullptr, false);
    REQUIRE(view.is_object());
    return view;
}

/// A weekly window one hour long that opens 12 hours from `now` (UTC):
/// certainly closed now.
std::string window_twelve_hours_away(Timestamp now) {
    static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    const Timestamp later = now + 12h;
    const auto day = std::chrono::floor<std::chrono::days>(later);
    const std::chrono::weekday weekday{day};
    const auto hour = std::chrono::duration_cast<std::chrono::hours>(later - day).count();
    char text[64];
    std::snprintf(text, sizeof text, "%s %02d:00-%02d:00", kDays[weekday.c_encoding()], static_cast<int>(hour),
                  static_cast<int>(hour) + 1);
    return text;
}

}  // namespace

TEST_CASE("a bundle needing a reboot is installed only after the boot id changes", "[agent-process][reboot]") {
    TempDir temp;
    FleetFixture fleet(temp.path() / "fleet", at_ip(60));
    const FixtureAgent& agent = fleet.add_agent(agent_with_notice("1s"));
    const FixtureBundle& bundle = fleet.add_bundle(rebooting_bundle("kernel", "6.1.5"));
    fleet.write_manifest(fleet.make_manifest("kpatch", {&bundle}));

    AgentHarness harness(fleet);
    harness.start_origin();
    harness.start_agent(agent);
    REQUIRE_STATE(harness, agent, "kpatch", bundle.id(), HostState::reboot_pending, 60s);
    const std::string first_boot = read_text(agent.boot_id_file);
    CHECK(harness.bundle(agent, "kpatch", bundle.id())->boot_id + "\n" == first_boot);
    CHECK(read_text(agent.sandbox("opt/kernel/VERSION")) == "6.1.5\n");
    CHECK(harness.runs(agent, "kernel", "verify") == 1);

    // After the 1 s notice the reboot command runs, once: it returned, but the
    // host did not go down, and the retry is minutes away.
    if (!eventually([&] { return reboots(agent).size() == 1; }, 20s))
        FAIL("the reboot command never ran\n" << harness.describe(agent));
    std::this_thread::sleep_for(2s);
    CHECK(reboots(agent).size() == 1);
    CHECK(harness.journal(agent).reboot.requested);
    CHECK(harness.bundle(agent, "kpatch", bundle.id())->state == HostState::reboot_pending);

    // A restart with the same boot id is not a reboot: still pending, not verified again.
    harness.stop_agent(agent);
    harness.start_agent(agent);
    std::this_thread::sleep_for(3s);
    {
        INFO(harness.describe(agent));
        CHECK(harness.bundle(agent, "kpatch", bundle.id())->state == HostState::reboot_pending);
        CHECK(harness.runs(agent, "kernel", "verify") == 1);
        CHECK(reboots(agent).size() <= 2);  // the reboot may be asked for again
    }

    // The real reboot: a new boot id, then verify again and installed.
    reboot_agent(harness, agent, 1);
    REQUIRE_STATE(harness, agent, "kpatch", bundle.id(), HostState::installed, 30s);
    const std::size_t reboots_done = reboots(agent).size();
    CHECK(harness.runs(agent, "kernel", "verify") == 2);
    CHECK(harness.runs(agent, "kernel", "install") == 1);
    CHECK(harness.runs(agent, "kernel", "rollback") == 0);
    CHECK(read_text(agent.sandbox("opt/kernel/VERSION")) == "6.1.5\n");
    // Nothing is pending any more: no further reboot, and status says so.
    std::this_thread::sleep_for(2s);
    CHECK(reboots(agent).size() == reboots_done);
    const auto view = status_json(harness, agent);
    CHECK(view["reboot"]["pending"] == false);
    CHECK(view["rollouts"][0]["bundles"][0]["state"] == "installed");
    CHECK_FALSE(harness.journal(agent).reboot.requested);
}

TEST_CASE("one reboot serves every bundle of a batch that needs one", "[agent-process][reboot]") {
    TempDir temp;
    FleetFixture fleet(temp.path() / "fleet", at_ip(70));
    const FixtureAgent& agent = fleet.add_agent(agent_with_notice("1s"));
    const FixtureBundle& first = fleet.add_bundle(rebooting_bundle("kernel", "6.1.6"));
    const FixtureBundle& second = fleet.add_bundle(rebooting_bundle("firmware", "2.4"));
    fleet.write_manifest(fleet.make_manifest("batch", {&first, &second}));

    AgentHarness harness(fleet);
    harness.start_origin();
    harness.start_agent(agent);
    REQUIRE_STATE(harness, agent, "batch", second.id(), HostState::reboot_pending, 60s);
    CHECK(harness.bundle(agent, "batch", first.id())->state == HostState::reboot_pending);
    if (!eventually([&] { return !reboots(agent).empty(); }, 20s))
        FAIL("the reboot command never ran\n" << harness.describe(agent));
    std::this_thread::sleep_for(2s);
    // One reboot, and it ran only after the second bundle was installed.
    REQUIRE(reboots(agent).size() == 1);
    const auto second_since = harness.bundle(agent, "batch", second.id())->since;
    CHECK(reboots(agent)[0] >= second_since.time_since_epoch().count());

    reboot_agent(harness, agent, 1);
    REQUIRE_STATE(harness, agent, "batch", first.id(), HostState::installed, 30s);
    REQUIRE_STATE(harness, agent, "batch", second.id(), HostState::installed, 30s);
    CHECK(harness.runs(agent, "kernel", "verify") == 2);
    CHECK(harness.runs(agent, "firmware", "verify") == 2);
    std::this_thread::sleep_for(2s);
    CHECK(reboots(agent).size() == 1);
}

TEST_CASE("a failing verify after the reboot fails the bundle and rolls it back", "[agent-process][reboot]") {
    TempDir temp;
    FleetFixture fleet(temp.path() / "fleet", at_ip(80));
    const FixtureAgent& agent = fleet.add_agent(agent_with_notice("1s"));
    const FixtureBundle& bundle = fleet.add_bundle(rebooting_bundle("kernel", "6.1.7"));
    fleet.write_manifest(fleet.make_manifest("kbad", {&bundle}));

    AgentHarness harness(fleet);
    harness.start_origin();
    harness.start_agent(agent);
    REQUIRE_STATE(harness, agent, "kbad", bundle.id(), HostState::reboot_pending, 60s);
    CHECK(harness.runs(agent, "kernel", "verify") == 1);
    // The first verify passed; the host comes back broken.
    REQUIRE(write_file_atomic(agent.sandbox(".patchwave-test/kernel.verify.fail"), "", 0644));

    reboot_agent(harness, agent, 1);
    REQUIRE_STATE(harness, agent, "kbad", bundle.id(), HostState::failed, 30s);
    auto failed = harness.bundle(agent, "kbad", bundle.id());
    REQUIRE(failed);
    INFO(harness.describe(agent));
    CHECK(failed->failed_step == "post-reboot-verify");
    CHECK(failed->failure_reason.find("failing (test") != std::string::npos);
    CHECK(failed->rolled_back);
    CHECK(harness.runs(agent, "kernel", "verify") == 2);
    CHECK(harness.runs(agent, "kernel", "rollback") == 1);
    CHECK_FALSE(std::filesystem::exists(agent.sandbox("opt/kernel/VERSION")));
    // Failed after a reboot is final: no retry, no further reboot asked for it.
    std::this_thread::sleep_for(2s);
    CHECK(harness.runs(agent, "kernel", "verify") == 2);
    CHECK(reboots(agent).size() == 1);
}

TEST_CASE("a local user may defer the reboot as often as the manifest allows", "[agent-process][reboot]") {
    TempDir temp;
    FleetFixture fleet(temp.path() / "fleet", at_ip(90));
    const FixtureAgent& agent = fleet.add_agent(agent_with_notice("3s"));
    const FixtureBundle& bundle = fleet.add_bundle(rebooting_bundle("kernel", "6.1.8"));
    rollout::Manifest manifest = fleet.make_manifest("kdefer", {&bundle});
    manifest.max_reboot_deferrals = 2;
    fleet.write_manifest(manifest);

    AgentHarness harness(fleet);
    harness.start_origin();
    harness.start_agent(agent);
    REQUIRE_STATE(harness, agent, "kdefer", bundle.id(), HostState::reboot_pending, 60s);
    // The reboot is due: the notice starts, during which the user may defer.
    if (!eventually([&] { return harness.journal(agent).reboot.notice_since.has_value(); }, 10s))
        FAIL("the reboot notice never started\n" << harness.describe(agent));

    for (int deferral = 1; deferral <= 2; ++deferral) {
        auto deferred = harness.cli(agent, {"defer-reboot", "--for", "1h"});
        INFO("deferral " << deferral << ": " << deferred.out << deferred.err);
        CHECK(deferred.exit_code == 0);
        CHECK(deferred.out.find("reboot deferred until") != std::string::npos);
        CHECK(harness.journal(agent).reboot.deferrals_used == static_cast<std::uint32_t>(deferral));
    }
    auto refused = harness.cli(agent, {"defer-reboot", "--for", "1h"});
    INFO("third deferral: " << refused.out << refused.err);
    CHECK(refused.exit_code != 0);
    CHECK(refused.err.find("no deferral left") != std::string::npos);

    const auto view = status_json(harness, agent);
    CHECK(view["running"] == true);
    CHECK(view["reboot"]["pending"] == true);
    CHECK(view["reboot"]["deferrals_used"] == 2);
    CHECK(view["reboot"]["deferrals_left"] == 0);
    CHECK(view["reboot"]["deferred_until"].is_string());

    // Well past the 3 s notice: deferred for an hour, so no reboot.
    std::this_thread::sleep_for(5s);
    CHECK(reboots(agent).empty());
    CHECK(harness.bundle(agent, "kdefer", bundle.id())->state == HostState::reboot_pending);
    CHECK(harness.journal(agent).reboot.deferrals_used == 2);
}

TEST_CASE("the reboot deadline forces the reboot outside the reboot window", "[agent-process][reboot]") {
    TempDir temp;
    FleetFixture fleet(temp.path() / "fleet", at_ip(100));
    AgentSpec spec;
    spec.reboot_windows = {window_twelve_hours_away(fleet.now())};
    const FixtureAgent& agent = fleet.add_agent(spec);
    const FixtureBundle& bundle = fleet.add_bundle(rebooting_bundle("kernel", "6.1.9"));
    rollout::Manifest manifest = fleet.make_manifest("kdeadline", {&bundle});
    manifest.reboot_deadline = std::chrono::seconds(5);
    fleet.write_manifest(manifest);

    AgentHarness harness(fleet);
    harness.start_origin();
    harness.start_agent(agent);
    REQUIRE_STATE(harness, agent, "kdeadline", bundle.id(), HostState::reboot_pending, 60s);
    const Timestamp pending_since = harness.bundle(agent, "kdeadline", bundle.id())->since;
    INFO("reboot window " << spec.reboot_windows[0] << ", pending since " << format_timestamp(pending_since));
    if (!eventually([&] { return !reboots(agent).empty(); }, 20s))
        FAIL("the deadline did not force the reboot\n" << harness.describe(agent));
    // Not before the deadline, and not much later (the window is hours away).
    const std::int64_t deadline = (pending_since + 5s).time_since_epoch().count();
    CHECK(reboots(agent)[0] >= deadline);
    CHECK(reboots(agent)[0] <= deadline + 5);
    CHECK(harness.log(agent).find("deadline") != std::string::npos);

    reboot_agent(harness, agent, 1);
    REQUIRE_STATE(harness, agent, "kdeadline", bundle.id(), HostState::installed, 30s);
}

TEST_CASE("status and defer-reboot with the daemon stopped", "[agent-process][reboot]") {
    TempDir temp;
    FleetFixture fleet(temp.path() / "fleet", at_ip(110));
    const FixtureAgent& agent = fleet.add_agent(agent_with_notice("1h"));
    const FixtureBundle& bundle = fleet.add_bundle(rebooting_bundle("kernel", "6.2.0"));
    fleet.write_manifest(fleet.make_manifest("kstopped", {&bundle}));

    AgentHarness harness(fleet);
    harness.start_origin();
    harness.start_agent(agent);
    REQUIRE_STATE(harness, agent, "kstopped", bundle.id(), HostState::reboot_pending, 60s);
    REQUIRE(harness.stop_agent(agent) == 0);

    // status reads the journal.
    const auto view = status_json(harness, agent);
    CHECK(view["running"] == false);
    CHECK(view["agent"] == rollout::to_hex(agent.id));
    REQUIRE(view["rollouts"].size() == 1);
    CHECK(view["rollouts"][0]["rollout_id"] == "kstopped");
    CHECK(view["rollouts"][0]["bundles"][0]["id"] == rollout::to_hex(bundle.id()));
    CHECK(view["rollouts"][0]["bundles"][0]["state"] == "reboot-pending");
    CHECK(view["reboot"]["pending"] == true);

    auto text = harness.cli(agent, {"status"});
    INFO("status: " << text.out << text.err);
    CHECK(text.exit_code == 0);
    CHECK(text.out.find("daemon not running") != std::string::npos);
    CHECK(text.out.find("reboot-pending") != std::string::npos);
    CHECK(text.out.find("reboot pending") != std::string::npos);

    // defer-reboot needs the daemon: it says so and changes nothing.
    auto deferred = harness.cli(agent, {"defer-reboot"});
    INFO("defer-reboot: " << deferred.out << deferred.err);
    CHECK(deferred.exit_code != 0);
    CHECK(deferred.err.find("no agent is running") != std::string::npos);
    CHECK(harness.journal(agent).reboot.deferrals_used == 0);
}
