#include "agent/status_view.hpp"

#include <catch2/catch.hpp>

using namespace patchwave;
using namespace patchwave::agent;
using nlohmann::json;

namespace {

Timestamp at(std::string_view text) {
    return *parse_timestamp(text);
}

rollout::BundleId bundle_id(std::uint8_t n) {
    rollout::BundleId id{};
    id.fill(n);
    return id;
}

// Rollout 2026-11-B v3: bundle 1 failed at install and was rolled back,
// bundle 2 is reboot-pending; one deferral used; one drift finding.
JournalState journal() {
    JournalState state;
    BundleJournal failed;
    failed.id = bundle_id(1);
    failed.state = rollout::HostState::failed;
    failed.since = at("2026-11-24T02:00:00Z");
    failed.step = std::string(step::rollback);
    failed.failed_step = std::string(step::install);
    failed.failure_reason = "install exited with status 3";
    failed.rolled_back = true;
    failed.attempts = 2;
    failed.bytes_done = 100;
    failed.bytes_total = 100;
    BundleJournal pending;
    pending.id = bundle_id(2);
    pending.state = rollout::HostState::reboot_pending;
    pending.since = at("2026-11-24T03:00:00Z");
    pending.step = std::string(step::verify);
    pending.bytes_done = 50;
    pending.bytes_total = 50;
    state.rollouts.push_back(RolloutJournal{"2026-11-B", 3, {failed, pending}});
    state.reboot.deferrals_used = 1;
    state.reboot.deferred_until = at("2026-11-24T05:00:00Z");
    state.drift.push_back(
        rollout::DriftFinding{"/etc/hosts", std::string(64, 'a'), "absent", std::nullopt, at("2026-11-24T04:00:00Z")});
    return state;
}

StatusViewInput live_input(const JournalState& state) {
    StatusViewInput input;
    input.journal = &state;
    input.running = true;
    input.agent = std::string(64, 'f');
    input.host = "web-01";
    input.boot_id = "boot-1";
    input.notes = {{"2026-11-B", "outside the maintenance window until 2026-11-28T01:00:00Z"}};
    input.names = {{bundle_id(1), "openssl 3.0.22-1"}};
    rollout::RebootStatus reboot;
    reboot.pending = true;
    reboot.pending_since = at("2026-11-24T03:00:00Z");
    reboot.deadline = at("2026-11-26T03:00:00Z");
    reboot.scheduled_for = at("2026-11-25T02:00:00Z");
    reboot.deferrals_used = 1;
    input.reboot = reboot;
    input.deferrals_left = 2;
    input.reboot_note = "waiting for the reboot window";
    return input;
}

}  // namespace

TEST_CASE("status view: JSON of a failed bundle and a pending reboot", "[agent][status_view]") {
    // Every documented field, with the values the journal and the live view hold.
    const JournalState state = journal();
    const json view = status_view_json(live_input(state));
    CHECK(view["running"] == true);
    CHECK(view["agent"] == std::string(64, 'f'));
    CHECK(view["host"] == "web-01");
    CHECK(view["boot_id"] == "boot-1");

    REQUIRE(view["rollouts"].size() == 1);
    const json& rollout = view["rollouts"][0];
    CHECK(rollout["rollout_id"] == "2026-11-B");
    CHECK(rollout["manifest_version"] == 3);
    CHECK(rollout["note"] == "outside the maintenance window until 2026-11-28T01:00:00Z");
    REQUIRE(rollout["bundles"].size() == 2);
    const json& failed = rollout["bundles"][0];
    CHECK(failed["id"] == rollout::to_hex(bundle_id(1)));
    CHECK(failed["name"] == "openssl 3.0.22-1");
    CHECK(failed["state"] == "failed");
    CHECK(failed["since"] == "2026-11-24T02:00:00Z");
    CHECK(failed["step"] == "rollback");
    CHECK(failed["failed_step"] == "install");
    CHECK(failed["failure_reason"] == "install exited with status 3");
    CHECK(failed["rolled_back"] == true);
    CHECK(failed["attempts"] == 2);
    CHECK(failed["bytes_done"] == 100);
    CHECK(failed["bytes_total"] == 100);
    const json& pending = rollout["bundles"][1];
    CHECK(pending["name"].is_null());
    CHECK(pending["state"] == "reboot-pending");
    CHECK(pending["failed_step"] == "");
    CHECK(pending["rolled_back"] == false);

    const json& reboot = view["reboot"];
    CHECK(reboot["pending"] == true);
    CHECK(reboot["pending_since"] == "2026-11-24T03:00:00Z");
    CHECK(reboot["deadline"] == "2026-11-26T03:00:00Z");
    CHECK(reboot["scheduled_for"] == "2026-11-25T02:00:00Z");
    CHECK(reboot["deferrals_used"] == 1);
    CHECK(reboot["deferrals_left"] == 2);
    CHECK(reboot["deferred_until"] == "2026-11-24T05:00:00Z");
    CHECK(reboot["note"] == "waiting for the reboot window");

    REQUIRE(view["drift"].size() == 1);
    CHECK(view["drift"][0]["path"] == "/etc/hosts");
    CHECK(view["drift"][0]["expected"] == std::string(64, 'a'));
    CHECK(view["drift"][0]["actual"] == "absent");
    CHECK(view["drift"][0]["bundle"].is_null());
    CHECK(view["drift"][0]["detected"] == "2026-11-24T04:00:00Z");
}

TEST_CASE("status view: text names the failed step, the reason and the rollback", "[agent][status_view]") {
    // One line per bundle; the failed one says where, why, and that it was rolled back.
    const JournalState state = journal();
    const std::string text = status_view_text(status_view_json(live_input(state)));
    CHECK_THAT(text, Catch::StartsWith("agent web-01 (" + std::string(64, 'f') + ")\n"));
    CHECK_THAT(text, Catch::Contains("rollout 2026-11-B (manifest v3): outside the maintenance window until "
                                     "2026-11-28T01:00:00Z\n"));
    CHECK_THAT(text, Catch::Contains("  010101010101  openssl 3.0.22-1  failed since 2026-11-24T02:00:00Z at install "
                                     "(rolled back): install exited with status 3\n"));
    CHECK_THAT(text, Catch::Contains("  020202020202  reboot-pending since 2026-11-24T03:00:00Z\n"));
    CHECK_THAT(text, Catch::Contains("reboot pending since 2026-11-24T03:00:00Z, deadline 2026-11-26T03:00:00Z, "
                                     "expected 2026-11-25T02:00:00Z; deferrals used 1, left 2\n"));
    CHECK_THAT(text, Catch::Contains("  waiting for the reboot window\n"));
    CHECK_THAT(text, Catch::Contains("drift /etc/hosts: expected " + std::string(64, 'a')
                                     + ", found absent (noticed 2026-11-24T04:00:00Z)\n"));
    CHECK_THAT(text, !Catch::Contains("not running"));

    // Not rolled back says so.
    JournalState kept = state;
    kept.rollouts[0].bundles[0].rolled_back = false;
    CHECK_THAT(status_view_text(status_view_json(live_input(kept))),
               Catch::Contains("at install (not rolled back): install exited with status 3"));
}

TEST_CASE("status view: from the journal alone a pending reboot is still reported", "[agent][status_view]") {
    // The daemon is down: no live reboot view, yet the reboot-pending bundle
    // makes the reboot pending; times are unknown (null).
    const JournalState state = journal();
    StatusViewInput input;
    input.journal = &state;
    input.host = "web-01";
    const json view = status_view_json(input);
    CHECK(view["running"] == false);
    const json& reboot = view["reboot"];
    CHECK(reboot["pending"] == true);
    CHECK(reboot["pending_since"].is_null());
    CHECK(reboot["deadline"].is_null());
    CHECK(reboot["scheduled_for"].is_null());
    CHECK(reboot["deferrals_used"] == 1);
    CHECK(reboot["deferrals_left"].is_null());
    CHECK(reboot["deferred_until"] == "2026-11-24T05:00:00Z");
    CHECK(view["rollouts"][0]["note"] == "");

    const std::string text = status_view_text(view);
    CHECK_THAT(text, Catch::Contains("-- daemon not running, from the journal"));
    CHECK_THAT(text, Catch::Contains("reboot pending; deferrals used 1\n"));

    // With nothing reboot-pending, no reboot.
    JournalState settled = state;
    settled.rollouts[0].bundles[1].state = rollout::HostState::installed;
    input.journal = &settled;
    const json quiet = status_view_json(input);
    CHECK(quiet["reboot"]["pending"] == false);
    CHECK_THAT(status_view_text(quiet), Catch::Contains("no reboot pending\n"));
}

TEST_CASE("status view: an empty journal renders", "[agent][status_view]") {
    // A fresh agent: no rollouts, no reboot, no drift.
    const JournalState state;
    StatusViewInput input;
    input.journal = &state;
    input.running = true;
    const json view = status_view_json(input);
    CHECK(view["rollouts"].empty());
    CHECK(view["drift"].empty());
    CHECK(view["reboot"]["pending"] == false);
    CHECK(status_view_text(view) == "agent  ()\nno reboot pending\n");
}

TEST_CASE("status view: refusals in JSON and as one line each", "[agent][status_view]") {
    // Subject, reason, count and last time; none listed means an empty array and no line.
    const JournalState state = journal();
    StatusViewInput input = live_input(state);
    CHECK(status_view_json(input)["refused"] == json::array());
    CHECK_THAT(status_view_text(status_view_json(input)), !Catch::Contains("refused"));
    input.refused = {rollout::Refusal{"manifest 2026-11-B v9", "manifest: release role: 0 of 1 required signatures",
                                      at("2026-11-24T06:00:00Z"), at("2026-11-24T06:30:00Z"), 3},
                     rollout::Refusal{"bundle 030303030303 of r2", "1 of 2 required approvals",
                                      at("2026-11-24T07:00:00Z"), at("2026-11-24T07:00:00Z"), 1}};
    const json view = status_view_json(input);
    REQUIRE(view["refused"].size() == 2);
    CHECK(view["refused"][0]["subject"] == "manifest 2026-11-B v9");
    CHECK(view["refused"][0]["reason"] == "manifest: release role: 0 of 1 required signatures");
    CHECK(view["refused"][0]["first"] == "2026-11-24T06:00:00Z");
    CHECK(view["refused"][0]["last"] == "2026-11-24T06:30:00Z");
    CHECK(view["refused"][0]["count"] == 3);
    const std::string text = status_view_text(view);
    CHECK_THAT(text, Catch::Contains("refused manifest 2026-11-B v9: manifest: release role: 0 of 1 required "
                                     "signatures (3 times, last 2026-11-24T06:30:00Z)\n"));
    CHECK_THAT(text, Catch::Contains("refused bundle 030303030303 of r2: 1 of 2 required approvals (1 time, last "
                                     "2026-11-24T07:00:00Z)\n"));
}
