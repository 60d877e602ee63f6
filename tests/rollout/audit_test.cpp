#include "rollout/audit.hpp"

#include <catch2/catch.hpp>

#include "rules_fixtures.hpp"

using namespace patchwave;
using namespace patchwave::rollout;
using namespace patchwave::rollout::test;

namespace {

const Timestamp kNow = at("2026-11-25T12:00:00Z");

// Two bundles; waves "test" (ring=test) and "prod" (ring=prod); 48h reboot deadline.
Manifest two_waves() {
    return manifest_with({wave("test", {{"ring", "test"}}), wave("prod", {{"ring", "prod"}})}, 2);
}

HostView make_host(std::string name, std::uint64_t n, std::string ring, HostState first,
                   HostState second, Timestamp since = kNow - std::chrono::hours(1),
                   std::optional<Timestamp> heard = kNow) {
    return host_view(
        std::move(name), agent_id(n), {{"ring", std::move(ring)}},
        {bundle_status(bundle_id(1), first, since), bundle_status(bundle_id(2), second, since)},
        heard);
}

AuditReport run(const std::vector<HostView>& hosts, AuditOptions options = {}) {
    return audit_rollout(two_waves(), hosts, kNow, options);
}

}  // namespace

TEST_CASE("installed hosts are counted but not listed", "[rollout][audit]") {
    // Two installed hosts: nothing to look at, yet both are targeted.
    const std::vector<HostView> hosts{
        make_host("a", 1, "prod", HostState::installed, HostState::installed),
        make_host("b", 2, "test", HostState::installed, HostState::installed)};
    const auto report = run(hosts);
    CHECK(report.targeted == 2);
    CHECK(report.installed == 2);
    CHECK(report.failed.empty());
    CHECK(report.reboot_pending.empty());
    CHECK(report.in_progress.empty());
    CHECK(report.waiting.empty());
    CHECK(report.silent.empty());
}

TEST_CASE("failed hosts list every failed bundle with step, reason and rollback",
          "[rollout][audit]") {
    // A host whose second bundle failed verify and was rolled back shows exactly that.
    HostView host = make_host("web-1", 1, "prod", HostState::installed, HostState::failed);
    BundleStatus& failed = host.status->rollouts[0].bundles[1];
    failed.failed_step = "verify";
    failed.failure_reason = "verify.sh exited 3";
    failed.rolled_back = true;
    const auto report = run({host});
    REQUIRE(report.failed.size() == 1);
    CHECK(report.failed[0].who.host == "web-1");
    CHECK(report.failed[0].who.wave == "prod");
    REQUIRE(report.failed[0].bundles.size() == 1);
    const FailedBundle& entry = report.failed[0].bundles[0];
    CHECK(entry.bundle == bundle_id(2));
    CHECK(entry.step == "verify");
    CHECK(entry.reason == "verify.sh exited 3");
    CHECK(entry.rolled_back);
    CHECK(entry.since == kNow - std::chrono::hours(1));
}

TEST_CASE("reboot-pending hosts show their age and deadline as reported", "[rollout][audit]") {
    // Pending since 30h ago with a reported deadline 2h ago: age 30h, past the deadline.
    HostView host = make_host("db-1", 1, "prod", HostState::reboot_pending, HostState::installed);
    host.status->reboot.pending = true;
    host.status->reboot.pending_since = kNow - std::chrono::hours(30);
    host.status->reboot.deadline = kNow - std::chrono::hours(2);
    const auto report = run({host});
    REQUIRE(report.reboot_pending.size() == 1);
    const RebootPendingHost& entry = report.reboot_pending[0];
    CHECK(entry.pending_since == kNow - std::chrono::hours(30));
    CHECK(entry.age == std::chrono::hours(30));
    CHECK(entry.deadline == kNow - std::chrono::hours(2));
    CHECK(entry.past_deadline);
}

TEST_CASE("without a reported reboot state the bundles and manifest give age and deadline",
          "[rollout][audit]") {
    // Bundle reboot-pending since 48h ago: deadline is exactly now (not yet past); a second later
    // it is past.
    const HostView host = make_host("db-2", 2, "prod", HostState::reboot_pending,
                                    HostState::reboot_pending, kNow - std::chrono::hours(48));
    auto report = run({host});
    REQUIRE(report.reboot_pending.size() == 1);
    CHECK(report.reboot_pending[0].age == std::chrono::hours(48));
    CHECK(report.reboot_pending[0].deadline == kNow);
    CHECK_FALSE(report.reboot_pending[0].past_deadline);
    report =
        audit_rollout(two_waves(), std::vector<HostView>{host}, kNow + std::chrono::seconds(1));
    CHECK(report.reboot_pending[0].past_deadline);
}

TEST_CASE("hosts working on a bundle are in progress with their state", "[rollout][audit]") {
    // Downloading and verifying hosts are listed as in progress, not waiting.
    const std::vector<HostView> hosts{
        make_host("a", 1, "prod", HostState::installed, HostState::downloading),
        make_host("b", 2, "prod", HostState::verifying, HostState::waiting)};
    const auto report = run(hosts);
    REQUIRE(report.in_progress.size() == 2);
    CHECK(report.in_progress[0].who.host == "a");
    CHECK(report.in_progress[0].state == HostState::downloading);
    CHECK(report.in_progress[1].state == HostState::verifying);
    CHECK(report.in_progress[1].since == kNow - std::chrono::hours(1));
}

TEST_CASE("hosts that have not started are waiting", "[rollout][audit]") {
    // A host reporting nothing for the rollout waits, as does one reporting waiting.
    const std::vector<HostView> hosts{
        host_view("quiet", agent_id(1), {{"ring", "prod"}}, {}, kNow, false),
        make_host("idle", 2, "test", HostState::waiting, HostState::waiting)};
    const auto report = run(hosts);
    REQUIRE(report.waiting.size() == 2);
    CHECK(report.waiting[0].host == "idle");
    CHECK(report.waiting[0].wave == "test");
    CHECK(report.waiting[1].host == "quiet");
}

TEST_CASE("silent hosts are listed only as silent with how long", "[rollout][audit]") {
    // Heard 2h ago (last said installed) and never heard: both silent, nothing else.
    const std::vector<HostView> hosts{
        make_host("gone", 1, "prod", HostState::installed, HostState::installed,
                  kNow - std::chrono::hours(3), kNow - std::chrono::hours(2)),
        host_view("never", agent_id(2), {{"ring", "prod"}}, {}, std::nullopt, false)};
    const auto report = run(hosts);
    CHECK(report.installed == 0);
    REQUIRE(report.silent.size() == 2);
    CHECK(report.silent[0].who.host == "gone");
    CHECK(report.silent[0].silent_for == std::chrono::hours(2));
    CHECK(report.silent[0].last_heard == kNow - std::chrono::hours(2));
    CHECK(report.silent[0].last_state == HostState::installed);
    CHECK(report.silent[1].who.host == "never");
    CHECK_FALSE(report.silent[1].last_heard.has_value());
    CHECK_FALSE(report.silent[1].silent_for.has_value());
}

TEST_CASE("the silence timeout is a parameter", "[rollout][audit]") {
    // Heard 20 minutes ago: silent at a 15m timeout, not at 1h.
    const std::vector<HostView> hosts{make_host("a", 1, "prod", HostState::waiting,
                                                HostState::waiting, kNow,
                                                kNow - std::chrono::minutes(20))};
    CHECK(run(hosts).silent.size() == 1);
    AuditOptions patient;
    patient.silence_timeout = std::chrono::hours(1);
    CHECK(run(hosts, patient).silent.empty());
}

TEST_CASE("hosts no wave selects are not audited", "[rollout][audit]") {
    // A ring=lab host that failed is none of this rollout's business.
    const std::vector<HostView> hosts{
        make_host("lab-1", 1, "lab", HostState::failed, HostState::failed)};
    const auto report = run(hosts);
    CHECK(report.targeted == 0);
    CHECK(report.failed.empty());
}

TEST_CASE("every group is ordered by host name then agent id", "[rollout][audit]") {
    // Input order does not matter; equal names fall back to the agent id.
    const std::vector<HostView> hosts{
        make_host("zeta", 1, "prod", HostState::failed, HostState::waiting),
        make_host("alpha", 3, "prod", HostState::failed, HostState::waiting),
        make_host("mid", 5, "test", HostState::failed, HostState::waiting),
        make_host("alpha", 2, "prod", HostState::failed, HostState::waiting)};
    const auto report = run(hosts);
    REQUIRE(report.failed.size() == 4);
    CHECK(report.failed[0].who.host == "alpha");
    CHECK(report.failed[0].who.agent == agent_id(2));
    CHECK(report.failed[1].who.agent == agent_id(3));
    CHECK(report.failed[2].who.host == "mid");
    CHECK(report.failed[3].who.host == "zeta");
}

TEST_CASE("drift findings of targeted hosts are reported sorted", "[rollout][audit]") {
    // Findings come back by host then path; an untargeted host's drift is left out of the rollout
    // audit.
    HostView b = make_host("b", 1, "prod", HostState::installed, HostState::installed);
    b.status->drift = {DriftFinding{"/etc/z.conf", "aa", "bb", bundle_id(1), kNow},
                       DriftFinding{"/etc/a.conf", "cc", "absent", std::nullopt, kNow}};
    HostView a = make_host("a", 2, "test", HostState::installed, HostState::installed);
    a.status->drift = {DriftFinding{"/etc/hosts", "dd", "ee", std::nullopt, kNow}};
    HostView lab = make_host("lab", 3, "lab", HostState::installed, HostState::installed);
    lab.status->drift = {DriftFinding{"/etc/lab", "ff", "00", std::nullopt, kNow}};
    const std::vector<HostView> hosts{b, lab, a};
    const auto report = run(hosts);
    REQUIRE(report.drift.size() == 3);
    CHECK(report.drift[0].host == "a");
    CHECK(report.drift[1].finding.path == "/etc/a.conf");
    CHECK(report.drift[1].finding.actual == "absent");
    CHECK(report.drift[2].finding.path == "/etc/z.conf");
    const auto all = collect_drift(hosts);
    REQUIRE(all.size() == 4);
    CHECK(all[3].host == "lab");
}

TEST_CASE("a bundle installed in production but not in the test ring is a mirror gap",
          "[rollout][audit]") {
    // Bundle 2 is installed on two prod hosts and only reboot-pending in the test ring: one gap
    // naming both.
    const std::vector<HostView> hosts{
        make_host("prod-b", 1, "prod", HostState::installed, HostState::installed),
        make_host("prod-a", 2, "prod", HostState::installed, HostState::installed),
        make_host("test-1", 3, "test", HostState::installed, HostState::reboot_pending)};
    const auto report = run(hosts);
    REQUIRE(report.mirror_gaps.size() == 1);
    CHECK(report.mirror_gaps[0].bundle == bundle_id(2));
    CHECK(report.mirror_gaps[0].hosts == std::vector<std::string>{"prod-a", "prod-b"});
}

TEST_CASE("the test ring selector is a parameter", "[rollout][audit]") {
    // With stage=canary as the test ring, the ring=test host no longer covers bundle 1.
    HostView canary = make_host("canary-1", 1, "prod", HostState::installed, HostState::waiting);
    canary.labels["stage"] = "canary";
    const std::vector<HostView> hosts{
        canary, make_host("test-1", 2, "test", HostState::installed, HostState::waiting),
        make_host("prod-1", 3, "prod", HostState::installed, HostState::installed)};
    CHECK(run(hosts).mirror_gaps.size() == 1);  // bundle 2 only, by ring=test
    AuditOptions options;
    options.test_ring = {{"stage", "canary"}};
    const auto report = run(hosts, options);
    REQUIRE(report.mirror_gaps.size() == 1);
    CHECK(report.mirror_gaps[0].bundle == bundle_id(2));
    CHECK(report.mirror_gaps[0].hosts == std::vector<std::string>{"prod-1"});
    const std::vector<HostView> without_canary{hosts[1], hosts[2]};
    const auto strict = run(without_canary, options);
    REQUIRE(strict.mirror_gaps.size() == 2);
    CHECK(strict.mirror_gaps[0].hosts == std::vector<std::string>{"prod-1", "test-1"});
}

TEST_CASE("the fleet mirror check covers bundles of every rollout", "[rollout][audit]") {
    // A bundle from another rollout is a fleet gap, but not one of this rollout's.
    HostView prod = make_host("prod-1", 1, "prod", HostState::installed, HostState::installed);
    RolloutStatus older;
    older.rollout_id = "2026-10-A";
    older.bundles = {bundle_status(bundle_id(7), HostState::installed, kNow)};
    prod.status->rollouts.push_back(older);
    const std::vector<HostView> hosts{
        prod, make_host("test-1", 2, "test", HostState::installed, HostState::installed)};
    CHECK(run(hosts).mirror_gaps.empty());
    const auto fleet = mirror_check(hosts, {{"ring", "test"}});
    REQUIRE(fleet.size() == 1);
    CHECK(fleet[0].bundle == bundle_id(7));
}

TEST_CASE("refusals of this rollout and its bundles are listed per host", "[rollout][audit]") {
    // Every host's refusals, targeted or not; other rollouts' refusals only in the fleet-wide audit.
    const Manifest manifest = two_waves();
    HostView prod = make_host("prod-1", 1, "prod", HostState::installed, HostState::installed);
    const Refusal forged{manifest_subject(manifest.rollout_id, 9), "manifest: release role: 0 of 1 required signatures",
                         kNow - std::chrono::minutes(5), kNow - std::chrono::minutes(1), 4};
    const Refusal other{manifest_subject("someone-else", 1), "manifest \"someone-else\" v1: expired at x",
                        kNow, kNow, 1};
    const Refusal bundle{bundle_subject(bundle_id(2), "someone-else"), "bundle: 1 of 2 required approvals", kNow, kNow,
                         1};
    prod.status->refused = {other, forged};
    HostView outside = make_host("db-1", 3, "none", HostState::waiting, HostState::waiting);
    outside.status->refused = {bundle};
    const std::vector<HostView> hosts{prod, outside,
                                      make_host("test-1", 2, "test", HostState::installed, HostState::installed)};

    const auto report = run(hosts);
    REQUIRE(report.refused.size() == 2);
    CHECK(report.refused[0] == RefusedEntry{"db-1", agent_id(3), bundle});
    CHECK(report.refused[1] == RefusedEntry{"prod-1", agent_id(1), forged});

    AuditOptions everything;
    everything.all_refusals = true;
    const auto fleet = run(hosts, everything);
    REQUIRE(fleet.refused.size() == 3);
    CHECK(fleet.refused[1].refusal == forged);  // prod-1 sorted by subject: "manifest 2026..." first
    CHECK(fleet.refused[2].refusal == other);
    CHECK(collect_refusals(hosts).size() == 3);
}
