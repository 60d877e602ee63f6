#include "rollout/gate.hpp"

#include <catch2/catch.hpp>

#include "rules_fixtures.hpp"

using namespace patchwave;
using namespace patchwave::rollout;
using namespace patchwave::rollout::test;

namespace {

const Timestamp kNow = at("2026-11-25T12:00:00Z");
const Duration kSilence = std::chrono::minutes(15);

// test (ring=test, 100%, 0% failures, 1h soak), canary (ring=canary, 95%, 2%, 4h), rest (ring=prod,
// 90%, 5%).
Manifest three_waves() {
    return manifest_with(
        {wave("test", {{"ring", "test"}}, std::nullopt, 100, 0, std::chrono::hours(1)),
         wave("canary", {{"ring", "canary"}}, std::nullopt, 95, 2, std::chrono::hours(4)),
         wave("rest", {{"ring", "prod"}}, std::nullopt, 90, 5)});
}

struct Fleet {
    std::vector<HostView> hosts;

    /// `count` hosts labelled ring=RING in `state` since `since`, heard at `heard`.
    void add(std::string_view ring, HostState state, std::size_t count, Timestamp since = kNow,
             std::optional<Timestamp> heard = kNow) {
        for (std::size_t i = 0; i < count; ++i) {
            const std::uint64_t n = hosts.size();
            char name[16];
            std::snprintf(name, sizeof name, "h%04u", static_cast<unsigned>(n));
            hosts.push_back(host_view(name, agent_id(n), {{"ring", std::string(ring)}},
                                      {bundle_status(bundle_id(1), state, since)}, heard));
        }
    }
};

ControlRecord control(ControlAction action, std::uint32_t open_wave, Timestamp time,
                      std::string reason = "") {
    ControlRecord record;
    record.rollout_id = "2026-11-B";
    record.sequence = 2;
    record.action = action;
    record.open_wave = open_wave;
    record.reason = std::move(reason);
    record.operator_name = "alice";
    record.time = time;
    return record;
}

RolloutState gate(const Manifest& manifest, const Fleet& fleet,
                  std::optional<ControlRecord> record = std::nullopt, Timestamp now = kNow) {
    return evaluate_gate(manifest, record, fleet.hosts, now, kSilence);
}

}  // namespace

TEST_CASE("without a control record only the first wave is open", "[rollout][gate]") {
    // open_wave is 0 and later waves report closed.
    Fleet fleet;
    fleet.add("test", HostState::downloading, 2);
    const auto state = gate(three_waves(), fleet);
    CHECK(state.phase == RolloutPhase::running);
    CHECK(state.open_wave == 0);
    REQUIRE(state.waves.size() == 3);
    CHECK(state.waves[0].open);
    CHECK_FALSE(state.waves[1].open);
    CHECK_FALSE(state.waves[2].open);
    CHECK(state.action.kind == GateActionKind::none);
}

TEST_CASE("hosts are counted in their wave by aggregate state", "[rollout][gate]") {
    // Each host lands in the wave its labels select, counted under its state.
    Fleet fleet;
    fleet.add("test", HostState::installed, 3);
    fleet.add("test", HostState::installing, 2);
    fleet.add("canary", HostState::waiting, 4);
    fleet.add("lab", HostState::installed, 5);  // selected by no wave
    const auto state = gate(three_waves(), fleet);
    CHECK(state.waves[0].targeted == 5);
    CHECK(state.waves[0].counts[HostState::installed] == 3);
    CHECK(state.waves[0].counts[HostState::installing] == 2);
    CHECK(state.waves[1].targeted == 4);
    CHECK(state.waves[1].counts[HostState::waiting] == 4);
    CHECK(state.waves[2].targeted == 0);
}

TEST_CASE("a silent host counts only as silent whatever it last said", "[rollout][gate]") {
    // Installed and failed reports older than the silence timeout count as silent, not as success
    // or failure.
    Fleet fleet;
    const Timestamp long_ago = kNow - std::chrono::hours(1);
    fleet.add("test", HostState::installed, 2, long_ago, long_ago);
    fleet.add("test", HostState::failed, 1, long_ago, long_ago);
    fleet.add("test", HostState::installed, 1, long_ago, std::nullopt);
    const auto state = gate(three_waves(), fleet);
    CHECK(state.waves[0].targeted == 4);
    CHECK(state.waves[0].counts.silent == 4);
    CHECK(state.waves[0].counts[HostState::installed] == 0);
    CHECK(state.waves[0].counts[HostState::failed] == 0);
    CHECK(state.phase == RolloutPhase::running);
}

TEST_CASE("installed_needed is the ceiling of success times targeted", "[rollout][gate]") {
    // 95% of 20 is 19; 95% of 21 is 19.95, so 20; 0% needs none; 100% of 0 needs none.
    CHECK(installed_needed(Percent::whole(95), 20) == 19);
    CHECK(installed_needed(Percent::whole(95), 21) == 20);
    CHECK(installed_needed(Percent{9950}, 200) == 199);
    CHECK(installed_needed(Percent::whole(0), 50) == 0);
    CHECK(installed_needed(Percent::whole(100), 0) == 0);
}

TEST_CASE("a wave passes exactly at its success threshold", "[rollout][gate]") {
    // canary at 95%: 19 of 20 passes, 18 of 20 does not.
    const Manifest manifest = three_waves();
    const ControlRecord opened = control(ControlAction::advance, 1, kNow - std::chrono::hours(10));
    Fleet short_by_one;
    short_by_one.add("canary", HostState::installed, 18);
    short_by_one.add("canary", HostState::installing, 2);
    CHECK_FALSE(gate(manifest, short_by_one, opened).waves[1].passed);
    Fleet enough;
    enough.add("canary", HostState::installed, 19);
    enough.add("canary", HostState::installing, 1);
    const auto state = gate(manifest, enough, opened);
    CHECK(state.waves[1].passed);
    CHECK(state.waves[1].installed_needed == 19);
}

TEST_CASE("a fractional threshold count rounds up", "[rollout][gate]") {
    // canary at 95% of 21 hosts needs 20 installed: 19 is not enough.
    const Manifest manifest = three_waves();
    const ControlRecord opened = control(ControlAction::advance, 1, kNow - std::chrono::hours(10));
    Fleet fleet;
    fleet.add("canary", HostState::installed, 19);
    fleet.add("canary", HostState::verifying, 2);
    auto state = gate(manifest, fleet, opened);
    CHECK_FALSE(state.waves[1].passed);
    CHECK(state.waves[1].installed_needed == 20);
    fleet.hosts.back().status->rollouts[0].bundles[0].state = HostState::installed;
    state = gate(manifest, fleet, opened);
    CHECK(state.waves[1].passed);
}

TEST_CASE("silent hosts keep a wave from passing", "[rollout][gate]") {
    // 18 installed and 2 silent of 20 stays below 95%, even if the silent ones last said installed.
    const Manifest manifest = three_waves();
    const ControlRecord opened = control(ControlAction::advance, 1, kNow - std::chrono::hours(10));
    Fleet fleet;
    fleet.add("canary", HostState::installed, 18);
    fleet.add("canary", HostState::installed, 2, kNow - std::chrono::hours(2),
              kNow - std::chrono::hours(2));
    const auto state = gate(manifest, fleet, opened);
    CHECK(state.waves[1].counts.silent == 2);
    CHECK_FALSE(state.waves[1].passed);
    CHECK(state.action.kind == GateActionKind::none);
}

TEST_CASE("an empty wave passes", "[rollout][gate]") {
    // No targeted hosts: nothing can hold the wave back.
    Fleet fleet;
    const auto state = gate(three_waves(), fleet);
    CHECK(state.waves[0].targeted == 0);
    CHECK(state.waves[0].passed);
}

TEST_CASE("passed_at is when the threshold-th host reached installed", "[rollout][gate]") {
    // rest at 90% of 10 hosts needs 9: the 9th earliest installed time is passed_at.
    const Manifest manifest = three_waves();
    Fleet fleet;
    for (int i = 0; i < 10; ++i)
        fleet.add("prod", HostState::installed, 1, kNow - std::chrono::minutes(100 - i * 10));
    const auto state =
        gate(manifest, fleet, control(ControlAction::advance, 2, kNow - std::chrono::hours(5)));
    REQUIRE(state.waves[2].passed_at.has_value());
    CHECK(*state.waves[2].passed_at == kNow - std::chrono::minutes(20));
}

TEST_CASE("the gate advances only after the soak has elapsed", "[rollout][gate]") {
    // test passed at 10:30 with a 1h soak: no advance at 11:29:59, advance to canary at 11:30.
    const Manifest manifest = three_waves();
    Fleet fleet;
    fleet.add("test", HostState::installed, 3, at("2026-11-25T10:30:00Z"));
    auto early = gate(manifest, fleet, std::nullopt, at("2026-11-25T11:29:59Z"));
    CHECK(early.waves[0].passed);
    CHECK(early.waves[0].soaked_at == at("2026-11-25T11:30:00Z"));
    CHECK_FALSE(early.waves[0].soaked);
    CHECK(early.action.kind == GateActionKind::none);
    CHECK(early.recheck_at == at("2026-11-25T11:30:00Z"));
    auto ready = gate(manifest, fleet, std::nullopt, at("2026-11-25T11:30:00Z"));
    CHECK(ready.action.kind == GateActionKind::advance);
    CHECK(ready.action.to_wave == 1);
    CHECK(ready.action.reason ==
          "wave \"test\" passed (3 of 3 installed, 3 needed) and soaked until 2026-11-25T11:30:00Z; "
          "opening wave \"canary\"");
    CHECK(ready.open_wave == 0);  // the gate recommends; only a control record opens
}

TEST_CASE("an emergency rollout skips the soak", "[rollout][gate]") {
    // Passed at 10:30 and advanced at once, 1h soak notwithstanding.
    Manifest manifest = three_waves();
    manifest.emergency = true;
    Fleet fleet;
    fleet.add("test", HostState::installed, 3, at("2026-11-25T10:30:00Z"));
    const auto state = gate(manifest, fleet, std::nullopt, at("2026-11-25T10:30:00Z"));
    CHECK(state.waves[0].soaked_at == at("2026-11-25T10:30:00Z"));
    CHECK(state.action.kind == GateActionKind::advance);
    CHECK(state.action.reason
          == "wave \"test\" passed (3 of 3 installed, 3 needed); opening wave \"canary\"");
}

TEST_CASE("a wave needing no installs soaks from when it opened", "[rollout][gate]") {
    // Wave 0 with a 0% threshold passed at not_before; an empty canary opened by a record soaks
    // from the record.
    Manifest manifest = three_waves();
    manifest.waves[0].success_threshold = Percent::whole(0);
    manifest.not_before = at("2026-11-25T09:00:00Z");
    Fleet fleet;
    fleet.add("test", HostState::downloading, 2);
    const auto first = gate(manifest, fleet);
    CHECK(first.waves[0].passed_at == at("2026-11-25T09:00:00Z"));
    CHECK(first.action.kind == GateActionKind::advance);
    const auto second =
        gate(manifest, fleet, control(ControlAction::advance, 1, at("2026-11-25T10:00:00Z")));
    CHECK(second.waves[1].targeted == 0);
    CHECK(second.waves[1].passed_at == at("2026-11-25T10:00:00Z"));
    CHECK(second.waves[1].soaked_at == at("2026-11-25T14:00:00Z"));
    CHECK(second.action.kind == GateActionKind::none);
    CHECK(second.recheck_at == at("2026-11-25T14:00:00Z"));
}

TEST_CASE("failures above the threshold auto-pause the rollout", "[rollout][gate]") {
    // canary at 2% of 50: 1 failure is exactly 2% (no pause), 2 are above it (pause).
    const Manifest manifest = three_waves();
    const ControlRecord opened = control(ControlAction::advance, 1, at("2026-11-25T08:00:00Z"));
    Fleet one;
    one.add("canary", HostState::failed, 1, at("2026-11-25T09:00:00Z"));
    one.add("canary", HostState::installing, 49);
    CHECK(gate(manifest, one, opened).action.kind == GateActionKind::none);
    Fleet two;
    two.add("canary", HostState::failed, 2, at("2026-11-25T09:00:00Z"));
    two.add("canary", HostState::installing, 48);
    const auto state = gate(manifest, two, opened);
    CHECK(state.phase == RolloutPhase::paused);
    CHECK(state.pause_cause == PauseCause::failure_threshold);
    CHECK(state.action.kind == GateActionKind::auto_pause);
    CHECK(state.action.reason ==
          "wave \"canary\": 2 of 50 hosts failed since 2026-11-25T08:00:00Z, above its 2% failure threshold");
    CHECK(state.reason == state.action.reason);
    CHECK(state.waves[1].failing);
}

TEST_CASE("with a 0% failure threshold one failure pauses", "[rollout][gate]") {
    // The test wave tolerates no failure at all; the reason has no "since" without a record.
    Fleet fleet;
    fleet.add("test", HostState::installed, 9);
    fleet.add("test", HostState::failed, 1);
    const auto state = gate(three_waves(), fleet);
    CHECK(state.action.kind == GateActionKind::auto_pause);
    CHECK(state.action.reason
          == "wave \"test\": 1 of 10 hosts failed, above its 0% failure threshold");
}

TEST_CASE("a resume acknowledges the failures before it", "[rollout][gate]") {
    // Failures at 09:00 do not pause again after a 10:00 resume; a failure at 10:00 itself does.
    const Manifest manifest = three_waves();
    Fleet fleet;
    fleet.add("test", HostState::failed, 2, at("2026-11-25T09:00:00Z"));
    fleet.add("test", HostState::installed, 3);
    const ControlRecord resumed = control(ControlAction::resume, 0, at("2026-11-25T10:00:00Z"));
    auto state = gate(manifest, fleet, resumed);
    CHECK(state.waves[0].counts[HostState::failed] == 2);
    CHECK(state.waves[0].failed_since_ack == 0);
    CHECK(state.phase == RolloutPhase::running);
    CHECK(state.action.kind == GateActionKind::none);
    fleet.add("test", HostState::failed, 1, at("2026-11-25T10:00:00Z"));
    state = gate(manifest, fleet, resumed);
    CHECK(state.waves[0].failed_since_ack == 1);
    CHECK(state.action.kind == GateActionKind::auto_pause);
}

TEST_CASE("an advance record acknowledges earlier failures too", "[rollout][gate]") {
    // Advancing past a failing test wave accepts its failures.
    Fleet fleet;
    fleet.add("test", HostState::failed, 3, at("2026-11-25T09:00:00Z"));
    fleet.add("canary", HostState::downloading, 10);
    const auto state =
        gate(three_waves(), fleet, control(ControlAction::advance, 1, at("2026-11-25T10:00:00Z")));
    CHECK(state.phase == RolloutPhase::running);
    CHECK(state.action.kind == GateActionKind::none);
}

TEST_CASE("failures in a closed wave do not pause", "[rollout][gate]") {
    // Only open waves are judged for failures.
    Fleet fleet;
    fleet.add("test", HostState::installing, 2);
    fleet.add("canary", HostState::failed, 5);
    const auto state = gate(three_waves(), fleet);
    CHECK_FALSE(state.waves[1].failing);
    CHECK(state.action.kind == GateActionKind::none);
}

TEST_CASE("an operator pause stops advancing", "[rollout][gate]") {
    // test passed and soaked long ago, but the rollout is paused by alice: no advance.
    Fleet fleet;
    fleet.add("test", HostState::installed, 3, at("2026-11-25T01:00:00Z"));
    const auto state =
        gate(three_waves(), fleet,
             control(ControlAction::pause, 0, at("2026-11-25T02:00:00Z"), "change freeze"));
    CHECK(state.waves[0].soaked);
    CHECK(state.phase == RolloutPhase::paused);
    CHECK(state.pause_cause == PauseCause::control_record);
    CHECK(state.reason == "change freeze");
    CHECK(state.by == "alice");
    CHECK(state.action.kind == GateActionKind::none);
}

TEST_CASE("abort is final whatever the hosts say", "[rollout][gate]") {
    // Failures and passed waves alike produce no action once aborted.
    Fleet fleet;
    fleet.add("test", HostState::failed, 3);
    fleet.add("test", HostState::installed, 3, at("2026-11-25T01:00:00Z"));
    const auto state =
        gate(three_waves(), fleet, control(ControlAction::abort, 0, kNow, "bad patch"));
    CHECK(state.phase == RolloutPhase::aborted);
    CHECK(state.reason == "bad patch");
    CHECK(state.action.kind == GateActionKind::none);
}

TEST_CASE("before not_before the rollout waits", "[rollout][gate]") {
    // A passed wave does not advance before the rollout may start; recheck at not_before.
    Manifest manifest = three_waves();
    manifest.not_before = at("2026-11-26T01:00:00Z");
    Fleet fleet;
    const auto state = gate(manifest, fleet);
    CHECK(state.phase == RolloutPhase::waiting);
    CHECK(state.reason == "not before 2026-11-26T01:00:00Z");
    CHECK(state.recheck_at == at("2026-11-26T01:00:00Z"));
    CHECK(state.action.kind == GateActionKind::none);
}

TEST_CASE("manual advance opens waves regardless of the gate", "[rollout][gate]") {
    // test has not passed, yet an advance to wave 2 opens canary and rest.
    Fleet fleet;
    fleet.add("test", HostState::downloading, 3);
    const auto state = gate(three_waves(), fleet, control(ControlAction::advance, 2, kNow));
    CHECK_FALSE(state.waves[0].passed);
    CHECK(state.open_wave == 2);
    CHECK(state.waves[1].open);
    CHECK(state.waves[2].open);
}

TEST_CASE("an open wave beyond the last is clamped to the last", "[rollout][gate]") {
    // A record naming wave 9 of 3 opens all three and nothing more.
    Fleet fleet;
    const auto state = gate(three_waves(), fleet, control(ControlAction::advance, 9, kNow));
    CHECK(state.open_wave == 2);
}

TEST_CASE("a control record of another rollout is ignored", "[rollout][gate]") {
    // An abort for 2026-10-A leaves 2026-11-B running at wave 0.
    Fleet fleet;
    fleet.add("test", HostState::installing, 1);
    ControlRecord other = control(ControlAction::abort, 2, kNow);
    other.rollout_id = "2026-10-A";
    const auto state = gate(three_waves(), fleet, other);
    CHECK(state.phase == RolloutPhase::running);
    CHECK(state.open_wave == 0);
}

TEST_CASE("the last wave passing completes the rollout", "[rollout][gate]") {
    // rest at 90% of 10 with 9 installed: completed, action complete.
    Fleet fleet;
    fleet.add("prod", HostState::installed, 9);
    fleet.add("prod", HostState::waiting, 1);
    const auto state = gate(three_waves(), fleet,
                            control(ControlAction::advance, 2, kNow - std::chrono::hours(1)));
    CHECK(state.phase == RolloutPhase::completed);
    CHECK(state.action.kind == GateActionKind::complete);
    CHECK(state.action.reason == "last wave \"rest\" passed (9 of 10 installed, 9 needed)");
}

TEST_CASE("failures take precedence over completion", "[rollout][gate]") {
    // rest passed at 90% but 1 of 10 failed is above 5%: pause, not complete.
    Fleet fleet;
    fleet.add("prod", HostState::installed, 9);
    fleet.add("prod", HostState::failed, 1);
    const auto state = gate(three_waves(), fleet,
                            control(ControlAction::advance, 2, kNow - std::chrono::hours(1)));
    CHECK(state.waves[2].passed);
    CHECK(state.action.kind == GateActionKind::auto_pause);
}

TEST_CASE("a passed wave that is not open does not advance anything", "[rollout][gate]") {
    // Only the highest open wave gates the next one: an empty, unopened canary changes nothing.
    Fleet fleet;
    fleet.add("test", HostState::installing, 1);
    const auto state = gate(three_waves(), fleet);
    CHECK(state.waves[1].passed);
    CHECK(state.action.kind == GateActionKind::none);
}

TEST_CASE("gate enums have their text forms", "[rollout][gate]") {
    // The names used in status output and events.
    CHECK(to_string(RolloutPhase::waiting) == "waiting");
    CHECK(to_string(RolloutPhase::completed) == "completed");
    CHECK(to_string(PauseCause::failure_threshold) == "failure-threshold");
    CHECK(to_string(PauseCause::control_record) == "control-record");
    CHECK(to_string(GateActionKind::auto_pause) == "auto-pause");
    CHECK(to_string(GateActionKind::advance) == "advance");
}

TEST_CASE("an unfinished rollout past its expiry is expired", "[rollout][gate]") {
    // Agents refuse the manifest now: the gate says expired, with no action,
    // even when the open wave would otherwise advance.
    const Manifest manifest = three_waves();
    Fleet fleet;
    fleet.add("test", HostState::installed, 2, at("2026-11-24T01:00:00Z"), manifest.expires - std::chrono::minutes(1));
    const auto before = gate(manifest, fleet, std::nullopt, manifest.expires - std::chrono::seconds(1));
    CHECK(before.action.kind == GateActionKind::advance);
    const auto state = gate(manifest, fleet, std::nullopt, manifest.expires);
    CHECK(state.phase == RolloutPhase::expired);
    CHECK(state.action.kind == GateActionKind::none);
    CHECK(state.reason == "manifest expired at 2026-12-24T00:00:00Z before the last wave passed");
    CHECK(to_string(RolloutPhase::expired) == "expired");
}

TEST_CASE("a finished rollout stays completed after its expiry", "[rollout][gate]") {
    // Expiry only ends rollouts that had not finished.
    const Manifest manifest = three_waves();
    const Timestamp later = manifest.expires + std::chrono::hours(1);
    Fleet fleet;
    fleet.add("prod", HostState::installed, 10, kNow, later);
    const auto state = gate(manifest, fleet, control(ControlAction::advance, 2, kNow), later);
    CHECK(state.phase == RolloutPhase::completed);
}

TEST_CASE("a running rollout is rechecked at its expiry at the latest", "[rollout][gate]") {
    // Time alone changes the answer at expiry, so the orchestrator must look again then.
    Fleet fleet;
    fleet.add("test", HostState::installing, 1);
    const Manifest manifest = three_waves();
    const auto state = gate(manifest, fleet);
    REQUIRE(state.recheck_at);
    CHECK(*state.recheck_at == manifest.expires);
}
