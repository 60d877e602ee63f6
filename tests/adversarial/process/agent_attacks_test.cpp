// Attacks on a running agent (docs/security.md rows 3, 4, 5 and 12), with
// real processes on 127.0.0.x: test_origin publishes, patchwave-agent decides.
#include <catch2/catch.hpp>

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

AgentSpec host_named(const std::string& host) {
    AgentSpec spec;
    spec.host = host;
    return spec;
}

BundleSpec bundle_named(const std::string& name) {
    BundleSpec spec;
    spec.name = name;
    spec.version = "1.0";
    return spec;
}

std::string read_text(const std::filesystem::path& path) {
    auto text = read_file(path, 1 << 20);
    return text ? *text : std::string();
}

bool refused(const FixtureAgent& agent, const std::string& subject, const std::string& why) {
    const std::string text = read_text(agent.state_dir / "refusals.json");
    return text.find(subject) != std::string::npos && text.find(why) != std::string::npos;
}

std::string envelope_file(const std::filesystem::path& path) {
    return read_text(path);
}

// The worst case for a replay: the agent restarts having lost its saved copy
// of the record (records/<file>), so only its journal's floors stand between
// the replayed record and the host; the origin restarts spreading the replay.
void replay_after_restart(AgentHarness& harness, const FleetFixture& fleet, const FixtureAgent& agent,
                          const std::string& file, const std::string& replayed) {
    harness.stop_agent(agent);
    harness.stop_origin();
    std::filesystem::remove(agent.state_dir / "records" / file);
    REQUIRE(write_file_atomic(fleet.origin_records() / file, replayed, 0644));
    harness.start_origin();
    harness.start_agent(agent);
}

std::string now_plus(Duration shift) {
    return format_timestamp(std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now())
                            + shift);
}

}  // namespace

TEST_CASE(
    "attack 4: agents with a clock far behind or far ahead never act on an expired manifest and recover "
    "once the clock is right",
    "[adversarial]") {
    // An origin whose clock is two days behind (a replaying member) spreads
    // "old", which expired three hours ago, and "live", valid for a week.
    //  - An agent whose clock reads 2020 judges by its trusted time (at least
    //    its certificate's issue time): it refuses "old", installs "live".
    //  - An agent whose clock is ten days ahead refuses both as expired and
    //    installs nothing. Restarted with the right clock it installs "live"
    //    at once: the wrong clock left no lasting trace in its trusted time.
    TempDir temp;
    FleetFixture fleet(temp.path() / "fleet", at_ip(160));
    const FixtureAgent& behind = fleet.add_agent(host_named("behind"));
    const FixtureAgent& ahead = fleet.add_agent(host_named("ahead"));
    const FixtureBundle& old_bundle = fleet.add_bundle(bundle_named("old"));
    const FixtureBundle& live_bundle = fleet.add_bundle(bundle_named("live"));
    rollout::Manifest old_manifest = fleet.make_manifest("old", {&old_bundle});
    old_manifest.published = fleet.now() - std::chrono::hours(48);
    old_manifest.expires = fleet.now() - std::chrono::hours(3);
    write_envelope(fleet.origin_records() / "manifest-old.env", fleet.sign(old_manifest));
    fleet.write_manifest(fleet.make_manifest("live", {&live_bundle}));

    AgentHarness harness(fleet);
    harness.start_origin({{"PATCHWAVE_NOW", now_plus(-std::chrono::hours(48))}});
    harness.start_agent(behind, {{"PATCHWAVE_NOW", "2020-01-01T00:00:00Z"}});
    harness.start_agent(ahead, {{"PATCHWAVE_NOW", now_plus(std::chrono::hours(24 * 10))}});

    REQUIRE_STATE(harness, behind, "live", live_bundle.id(), HostState::installed, 30s);
    REQUIRE(eventually([&] { return refused(behind, "manifest old v1", "expired at"); }, 15s));
    REQUIRE(eventually([&] { return refused(ahead, "manifest live v1", "expired at"); }, 15s));
    CHECK(refused(ahead, "manifest old v1", "expired at"));
    CHECK(harness.runs(behind, "old", "install") == 0);
    CHECK_FALSE(harness.bundle(behind, "old", old_bundle.id()));
    CHECK(harness.runs(ahead, "live", "install") == 0);
    CHECK(harness.runs(ahead, "old", "install") == 0);
    CHECK_FALSE(std::filesystem::exists(ahead.sandbox("opt/live/VERSION")));

    // The clock is fixed (and the host rebooted, as fixing a clock may take):
    // the same agent, the same journal.
    harness.stop_agent(ahead);
    ahead.new_boot_id();
    harness.start_agent(ahead);
    REQUIRE_STATE(harness, ahead, "live", live_bundle.id(), HostState::installed, 30s);
    CHECK(read_text(ahead.sandbox("opt/live/VERSION")) == "1.0\n");
    CHECK(harness.runs(ahead, "old", "install") == 0);
    // Judged at the real time: not ten days ahead, nor ahead by the machine's
    // uptime (the trusted time follows the kernel's boot clock, not the
    // configured boot id file a reboot changed).
    const auto journal = harness.journal(ahead);
    CHECK(journal.trusted_time < fleet.now() + std::chrono::minutes(5));
}

TEST_CASE(
    "attack 5: a manifest version far ahead signed by a compromised release key freezes the rollout "
    "until a root rotation revokes the key",
    "[adversarial]") {
    // The release key leaks. The attacker publishes version 1000 of the
    // rollout (a wave no host is in): the agent accepts it, and its floor now
    // refuses every version up to 1000 the orchestrator could publish. The
    // operators rotate the release role to a new key (root v2): the agent
    // lets go of version 1000 (gossip drops it, its floor no longer counts),
    // and the orchestrator's version 3 signed by the new key is installed.
    TempDir temp;
    FleetFixture fleet(temp.path() / "fleet", at_ip(170));
    const FixtureAgent& host = fleet.add_agent(host_named("web"));
    const FixtureBundle& first = fleet.add_bundle(bundle_named("first"));
    const FixtureBundle& second = fleet.add_bundle(bundle_named("second"));
    fleet.write_manifest(fleet.make_manifest("r1", {&first}, 1));

    AgentHarness harness(fleet);
    harness.start_origin();
    harness.start_agent(host);
    REQUIRE_STATE(harness, host, "r1", first.id(), HostState::installed, 30s);

    rollout::WaveSpec nobody;
    nobody.name = "frozen";
    nobody.select = {{"ring", "nobody"}};
    write_envelope(fleet.origin_records() / "manifest-r1.env",
                   fleet.sign(fleet.make_manifest("r1", {&first}, 1000, {nobody})));
    REQUIRE(eventually([&] { return harness.journal(host).manifest_versions["r1"] == 1000; }, 15s));

    const crypto::PrivateKey new_release = test_key(90);
    fleet.rotate_root([&](crypto::TrustRoot& root) {
        root.role(crypto::Role::release) = {{new_release.public_key()}, 1};
    });
    REQUIRE(eventually([&] { return std::filesystem::exists(host.state_dir / "roots" / "root-v2.env"); }, 15s));
    REQUIRE(
        eventually([&] { return refused(host, "manifest r1 v1000", "no longer signed by the release keys"); }, 10s));

    write_envelope(fleet.origin_records() / "manifest-r1.env",
                   fleet.make_manifest("r1", {&first, &second}, 3).sign(new_release));
    REQUIRE_STATE(harness, host, "r1", second.id(), HostState::installed, 30s);
    CHECK(harness.runs(host, "first", "install") == 1);  // kept, never applied twice
    CHECK(harness.runs(host, "second", "install") == 1);
    const auto journal = harness.journal(host);
    CHECK(journal.manifest_versions.at("r1") == 3);
    CHECK(journal.find_rollout("r1")->manifest_version == 3);
    // The saved v1000 is gone from disk: a restart does not bring it back.
    const std::string saved = read_text(host.state_dir / "records" / "manifest-r1.env");
    CHECK(saved.find("\"version\":1000") == std::string::npos);
}

TEST_CASE("attack 3: a replayed older manifest is refused after the agent restarts, and nothing is undone",
          "[adversarial]") {
    // v1 installed "first", v2 added "second". The agent restarts without
    // its saved copy of v2 and an origin spreads v1 again (genuinely signed,
    // unexpired). The journal's floor refuses it, the refusal is reported in
    // the status, and neither bundle is installed again nor rolled back.
    TempDir temp;
    FleetFixture fleet(temp.path() / "fleet", at_ip(180));
    const FixtureAgent& host = fleet.add_agent(host_named("web"));
    const FixtureBundle& first = fleet.add_bundle(bundle_named("first"));
    const FixtureBundle& second = fleet.add_bundle(bundle_named("second"));
    const std::string v1 = envelope_file(fleet.write_manifest(fleet.make_manifest("r1", {&first}, 1)));

    AgentHarness harness(fleet);
    harness.start_origin();
    harness.start_agent(host);
    REQUIRE_STATE(harness, host, "r1", first.id(), HostState::installed, 30s);
    fleet.write_manifest(fleet.make_manifest("r1", {&first, &second}, 2));
    REQUIRE_STATE(harness, host, "r1", second.id(), HostState::installed, 30s);

    replay_after_restart(harness, fleet, host, "manifest-r1.env", v1);
    REQUIRE(eventually([&] { return refused(host, "manifest r1 v1", "replay refused"); }, 20s));
    const auto status = harness.cli(host, {"status", "--json"});
    CHECK(status.exit_code == 0);
    CHECK(status.out.find("replay refused") != std::string::npos);
    CHECK(harness.journal(host).find_rollout("r1")->manifest_version == 2);
    CHECK(harness.bundle(host, "r1", second.id())->state == HostState::installed);
    CHECK(harness.runs(host, "first", "install") == 1);
    CHECK(harness.runs(host, "second", "install") == 1);
    CHECK(harness.runs(host, "second", "rollback") == 0);
}

TEST_CASE("attack 12: a stale advance replayed after a pause is refused and nothing installs", "[adversarial]") {
    // The operator's advance #2 (opening the prod wave) was superseded by
    // pause #3 before this host saw it. After a restart without its saved
    // copy of #3, an origin replays #2: the journal's floor refuses it, the
    // host stays paused, nothing is fetched or run.
    TempDir temp;
    FleetFixture fleet(temp.path() / "fleet", at_ip(190));
    const FixtureAgent& host = fleet.add_agent(host_named("web"));
    const FixtureBundle& bundle = fleet.add_bundle(bundle_named("app"));
    rollout::WaveSpec canary;
    canary.name = "canary";
    canary.select = {{"ring", "canary"}};
    rollout::WaveSpec prod;
    prod.name = "prod";
    prod.select = {{"ring", "prod"}};
    fleet.write_manifest(fleet.make_manifest("r1", {&bundle}, 1, {canary, prod}));
    const std::string advance =
        envelope_file(fleet.write_control("r1", 2, rollout::ControlAction::advance, 1, "canary looks fine"));
    fleet.write_control("r1", 3, rollout::ControlAction::pause, 1, "hold everything");

    AgentHarness harness(fleet);
    harness.start_origin();
    harness.start_agent(host);
    REQUIRE(eventually([&] { return harness.journal(host).control_sequences["r1"] == 3; }, 20s));

    replay_after_restart(harness, fleet, host, "control-r1.env", advance);
    REQUIRE(eventually([&] { return refused(host, "control r1 seq 2", "replay refused"); }, 20s));
    CHECK(harness.journal(host).control_sequences.at("r1") == 3);
    const auto waiting = harness.bundle(host, "r1", bundle.id());
    REQUIRE(waiting);
    CHECK(waiting->state == HostState::waiting);
    CHECK(harness.runs(host, "app", "install") == 0);
    CHECK_FALSE(std::filesystem::exists(host.sandbox("opt/app/VERSION")));
}
