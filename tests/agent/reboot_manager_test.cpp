#include "agent/reboot_manager.hpp"

#include <catch2/catch.hpp>

using namespace patchwave;
using namespace patchwave::agent;
using namespace std::chrono_literals;

namespace {

Timestamp at(std::string_view text) {
    return *parse_timestamp(text);
}

rollout::BundleId bundle_id(std::uint8_t n) {
    rollout::BundleId id{};
    id.fill(n);
    return id;
}

BundleJournal bundle(std::uint8_t n, rollout::HostState state, Timestamp since) {
    BundleJournal out;
    out.id = bundle_id(n);
    out.state = state;
    out.since = since;
    return out;
}

// Pending since Saturday 2026-11-28 12:00 UTC; the reboot window is Sunday
// 02:00-04:00; rollout "A" allows 48 h and 3 deferrals: deadline Monday 12:00.
const Timestamp kPendingSince = at("2026-11-28T12:00:00Z");
const Timestamp kDeadline = at("2026-11-30T12:00:00Z");
const Timestamp kWindowOpens = at("2026-11-29T02:00:00Z");
const Timestamp kInside = at("2026-11-29T02:30:00Z");

JournalState pending_journal() {
    JournalState journal;
    journal.rollouts.push_back(RolloutJournal{"A",
                                              1,
                                              {bundle(1, rollout::HostState::installed, at("2026-11-28T11:00:00Z")),
                                               bundle(2, rollout::HostState::reboot_pending, kPendingSince)}});
    return journal;
}

RebootLimitsOf limits(std::map<std::string, RebootLimits> known = {{"A", RebootLimits{48h, 3}}}) {
    return [known](std::string_view rollout_id) -> std::optional<RebootLimits> {
        auto it = known.find(std::string(rollout_id));
        if (it == known.end()) return std::nullopt;
        return it->second;
    };
}

RebootSettings settings(Duration notice = 5min) {
    RebootSettings out;
    std::vector<std::string> windows{"Sun 02:00-04:00"};
    out.windows = rollout::parse_windows(windows).value();
    out.notice = notice;
    return out;
}

}  // namespace

TEST_CASE("reboot plan: nothing pending means nothing to do", "[agent][reboot]") {
    // An empty journal, and one whose bundles are all installed or failed.
    const RebootPlan empty = plan_reboot(JournalState{}, limits(), settings(), false, kInside);
    CHECK(empty.step == RebootStep::none);
    CHECK_FALSE(empty.at.has_value());
    CHECK(empty.reason == "no reboot pending");
    JournalState settled = pending_journal();
    settled.rollouts[0].bundles[1].state = rollout::HostState::failed;
    CHECK(plan_reboot(settled, limits(), settings(), false, kInside).step == RebootStep::none);
}

TEST_CASE("reboot plan: outside the reboot window waits for its opening", "[agent][reboot]") {
    // Saturday 13:00: the next opening is Sunday 02:00, before the deadline.
    const RebootPlan plan = plan_reboot(pending_journal(), limits(), settings(), false, at("2026-11-28T13:00:00Z"));
    CHECK(plan.step == RebootStep::wait);
    CHECK(plan.at == std::optional<Timestamp>(kWindowOpens));
    CHECK(plan.decision.deadline == std::optional<Timestamp>(kDeadline));
}

TEST_CASE("reboot plan: inside the window the user gets a notice, then the reboot", "[agent][reboot]") {
    // Deferrals left and a 5 minute notice: notify, wait for the notice's
    // end, then reboot.
    JournalState journal = pending_journal();
    const RebootPlan notify = plan_reboot(journal, limits(), settings(), false, kInside);
    CHECK(notify.step == RebootStep::notify);
    CHECK(notify.at == std::optional<Timestamp>(kInside + 5min));
    CHECK(notify.decision.deferrals_left == 3);

    journal.reboot.notice_since = kInside;  // what the daemon records on notify
    const RebootPlan waiting = plan_reboot(journal, limits(), settings(), false, kInside + 2min);
    CHECK(waiting.step == RebootStep::wait);
    CHECK(waiting.at == std::optional<Timestamp>(kInside + 5min));

    const RebootPlan reboot = plan_reboot(journal, limits(), settings(), false, kInside + 5min);
    CHECK(reboot.step == RebootStep::reboot);
}

TEST_CASE("reboot plan: the notice never runs past the deadline", "[agent][reboot]") {
    // A deadline 3 minutes away cuts a 5 minute notice short.
    const RebootLimitsOf tight =
        limits({{"A", RebootLimits{std::chrono::duration_cast<Duration>(kInside + 3min - kPendingSince), 3}}});
    const RebootPlan plan = plan_reboot(pending_journal(), tight, settings(), false, kInside);
    CHECK(plan.step == RebootStep::notify);
    CHECK(plan.at == std::optional<Timestamp>(kInside + 3min));
}

TEST_CASE("reboot plan: a zero notice reboots at once", "[agent][reboot]") {
    // notice = 0: no notify step, even with deferrals left.
    const RebootPlan plan = plan_reboot(pending_journal(), limits(), settings(0s), false, kInside);
    CHECK(plan.step == RebootStep::reboot);
    CHECK(plan.decision.deferrals_left == 3);
}

TEST_CASE("reboot plan: without a deferral left there is no notice", "[agent][reboot]") {
    // All three deferrals used: inside the window the reboot is immediate.
    JournalState journal = pending_journal();
    journal.reboot.deferrals_used = 3;
    const RebootPlan plan = plan_reboot(journal, limits(), settings(), false, kInside);
    CHECK(plan.step == RebootStep::reboot);
}

TEST_CASE("reboot plan: a batch in progress delays the reboot until the deadline", "[agent][reboot]") {
    // Inside the window with bundles still being applied: wait, re-plan at
    // the deadline at the latest. At the deadline the batch no longer holds it.
    const RebootPlan held = plan_reboot(pending_journal(), limits(), settings(), true, kInside);
    CHECK(held.step == RebootStep::wait);
    CHECK(held.at == std::optional<Timestamp>(kDeadline));
    const RebootPlan due = plan_reboot(pending_journal(), limits(), settings(), true, kDeadline);
    CHECK(due.step == RebootStep::reboot);
    CHECK(plan_reboot(pending_journal(), limits(), settings(), true, kDeadline + 1h).step == RebootStep::reboot);
}

TEST_CASE("reboot plan: past the deadline the host reboots whatever the window and deferrals", "[agent][reboot]") {
    // Monday 12:00 is outside the Sunday window and a deferral runs until
    // 13:00 with deferrals left, and a notice is configured: reboot now.
    JournalState journal = pending_journal();
    journal.reboot.deferrals_used = 1;
    journal.reboot.deferred_until = kDeadline + 1h;
    const RebootPlan plan = plan_reboot(journal, limits(), settings(), false, kDeadline);
    CHECK(plan.step == RebootStep::reboot);
    CHECK_THAT(plan.reason, Catch::Contains("deadline 2026-11-30T12:00:00Z reached"));
}

TEST_CASE("reboot plan: a deferral in force waits until it ends", "[agent][reboot]") {
    // Deferred until 03:30 inside the window: wait until then.
    JournalState journal = pending_journal();
    journal.reboot.deferrals_used = 1;
    journal.reboot.deferred_until = kInside + 1h;
    const RebootPlan plan = plan_reboot(journal, limits(), settings(), false, kInside);
    CHECK(plan.step == RebootStep::wait);
    CHECK(plan.at == std::optional<Timestamp>(kInside + 1h));
}

TEST_CASE("reboot plan: a reboot command that returned is retried after the retry delay", "[agent][reboot]") {
    // Requested at 02:40; the host is still up at 02:45: wait until 02:50.
    JournalState journal = pending_journal();
    journal.reboot.requested = true;
    journal.reboot.requested_at = at("2026-11-29T02:40:00Z");
    journal.reboot.boot_id_before = "boot-1";
    const RebootPlan waiting = plan_reboot(journal, limits(), settings(0s), false, at("2026-11-29T02:45:00Z"));
    CHECK(waiting.step == RebootStep::wait);
    CHECK(waiting.at == std::optional<Timestamp>(at("2026-11-29T02:50:00Z")));
    CHECK_THAT(waiting.reason, Catch::Contains("has not rebooted"));
    const RebootPlan again = plan_reboot(journal, limits(), settings(0s), false, at("2026-11-29T02:50:00Z"));
    CHECK(again.step == RebootStep::reboot);
}

TEST_CASE("reboot plan: a notice from an earlier window does not count in a later one", "[agent][reboot]") {
    // Notified at Sunday 03:58, the window closed at 04:00 before the notice
    // ended. A week later the window opens again: the user must get a fresh
    // notice, not a reboot without warning on the strength of last week's.
    JournalState journal = pending_journal();
    journal.reboot.notice_since = at("2026-11-29T03:58:00Z");
    const RebootLimitsOf long_deadline = limits({{"A", RebootLimits{std::chrono::hours(24 * 30), 3}}});
    const RebootPlan closed = plan_reboot(journal, long_deadline, settings(), false, at("2026-11-29T04:00:00Z"));
    CHECK(closed.step == RebootStep::wait);
    CHECK(closed.at == std::optional<Timestamp>(at("2026-12-06T02:00:00Z")));
    const RebootPlan next_week = plan_reboot(journal, long_deadline, settings(), false, at("2026-12-06T02:00:00Z"));
    CHECK(next_week.step == RebootStep::notify);
}

TEST_CASE("defer_reboot: uses a deferral, sets deferred_until and clears the notice", "[agent][reboot]") {
    // One hour from 02:30, with 3 allowed.
    JournalState journal = pending_journal();
    journal.reboot.notice_since = kInside;
    auto until = defer_reboot(journal, limits(), settings(), kInside, 1h);
    REQUIRE(until);
    CHECK(*until == kInside + 1h);
    CHECK(journal.reboot.deferrals_used == 1);
    CHECK(journal.reboot.deferred_until == std::optional<Timestamp>(kInside + 1h));
    CHECK_FALSE(journal.reboot.notice_since.has_value());
    // The plan now waits for the deferral.
    const RebootPlan plan = plan_reboot(journal, limits(), settings(), false, kInside + 1min);
    CHECK(plan.step == RebootStep::wait);
    CHECK(plan.at == std::optional<Timestamp>(kInside + 1h));
}

TEST_CASE("defer_reboot: a deferral is clamped to the deadline", "[agent][reboot]") {
    // 30 minutes before the deadline, a one hour deferral ends at the deadline.
    JournalState journal = pending_journal();
    auto until = defer_reboot(journal, limits(), settings(), kDeadline - 30min, 1h);
    REQUIRE(until);
    CHECK(*until == kDeadline);
    CHECK(journal.reboot.deferred_until == std::optional<Timestamp>(kDeadline));
}

TEST_CASE("defer_reboot: refused when no deferral is left, nothing is pending or the deadline passed",
          "[agent][reboot]") {
    // Errc::state with the reason; the journal is left as it was.
    JournalState journal = pending_journal();
    journal.reboot.deferrals_used = 3;
    journal.reboot.notice_since = kInside;
    const JournalState before = journal;
    auto none_left = defer_reboot(journal, limits(), settings(), kInside, 1h);
    REQUIRE_FALSE(none_left);
    CHECK(none_left.error().is(Errc::state));
    CHECK(none_left.error().message() == "no deferral left (3 of 3 used)");
    CHECK(journal == before);

    JournalState empty;
    auto nothing = defer_reboot(empty, limits(), settings(), kInside, 1h);
    REQUIRE_FALSE(nothing);
    CHECK(nothing.error().is(Errc::state));
    CHECK(nothing.error().message() == "no reboot is pending");
    CHECK(empty == JournalState{});

    JournalState late = pending_journal();
    auto passed = defer_reboot(late, limits(), settings(), kDeadline, 1h);
    REQUIRE_FALSE(passed);
    CHECK(passed.error().is(Errc::state));
    CHECK(passed.error().message() == "the reboot deadline 2026-11-30T12:00:00Z has passed");
    CHECK(late == pending_journal());
}

TEST_CASE("defer_reboot: the strictest manifest sets the limit", "[agent][reboot]") {
    // Rollout A allows 3 deferrals, B only 1: with bundles of both pending,
    // one deferral is all the user gets. With B's bundle installed, A's 3 apply.
    JournalState journal = pending_journal();
    journal.rollouts.push_back(
        RolloutJournal{"B", 2, {bundle(3, rollout::HostState::reboot_pending, kPendingSince + 1h)}});
    const RebootLimitsOf both = limits({{"A", RebootLimits{48h, 3}}, {"B", RebootLimits{72h, 1}}});
    REQUIRE(defer_reboot(journal, both, settings(), kInside, 10min));
    auto second = defer_reboot(journal, both, settings(), kInside + 20min, 10min);
    REQUIRE_FALSE(second);
    CHECK(second.error().is(Errc::state));
    CHECK(second.error().message() == "no deferral left (1 of 1 used)");

    journal.rollouts[1].bundles[0].state = rollout::HostState::installed;
    CHECK(defer_reboot(journal, both, settings(), kInside + 20min, 10min));
    CHECK(journal.reboot.deferrals_used == 2);
}

TEST_CASE("defer_reboot: an unknown rollout gets the defaults of 48 h and 3 deferrals", "[agent][reboot]") {
    // The lookup knows no rollout (and an empty lookup behaves the same).
    for (const RebootLimitsOf& lookup : {limits({}), RebootLimitsOf{}}) {
        JournalState journal = pending_journal();
        for (int i = 0; i < 3; ++i)
            REQUIRE(defer_reboot(journal, lookup, settings(), kInside, 10min));
        auto fourth = defer_reboot(journal, lookup, settings(), kInside, 10min);
        REQUIRE_FALSE(fourth);
        CHECK(fourth.error().message() == "no deferral left (3 of 3 used)");
        CHECK(reboot_status(journal, lookup, settings(), kInside).deadline == std::optional<Timestamp>(kDeadline));
    }
}

TEST_CASE("reboot_status: pending since the earliest bundle, the earliest deadline and the expected time",
          "[agent][reboot]") {
    // A: pending since Saturday 12:00, 48 h. B: since Saturday 08:00, 24 h
    // (deadline Sunday 08:00). Expected at the Sunday 02:00 window.
    JournalState journal = pending_journal();
    journal.rollouts.push_back(
        RolloutJournal{"B", 2, {bundle(3, rollout::HostState::reboot_pending, at("2026-11-28T08:00:00Z"))}});
    journal.reboot.deferrals_used = 1;
    const RebootLimitsOf both = limits({{"A", RebootLimits{48h, 3}}, {"B", RebootLimits{24h, 3}}});
    const rollout::RebootStatus status = reboot_status(journal, both, settings(), at("2026-11-28T13:00:00Z"));
    CHECK(status.pending);
    CHECK(status.pending_since == std::optional<Timestamp>(at("2026-11-28T08:00:00Z")));
    CHECK(status.deadline == std::optional<Timestamp>(at("2026-11-29T08:00:00Z")));
    CHECK(status.scheduled_for == std::optional<Timestamp>(kWindowOpens));
    CHECK(status.deferrals_used == 1);

    // A deferral into the window moves the expected time to its end.
    journal.reboot.deferred_until = at("2026-11-29T03:00:00Z");
    CHECK(reboot_status(journal, both, settings(), at("2026-11-28T13:00:00Z")).scheduled_for
          == std::optional<Timestamp>(at("2026-11-29T03:00:00Z")));
    // Past the deadline: now.
    CHECK(reboot_status(journal, both, settings(), at("2026-11-29T09:00:00Z")).scheduled_for
          == std::optional<Timestamp>(at("2026-11-29T09:00:00Z")));
}

TEST_CASE("reboot_status: nothing pending reports no times", "[agent][reboot]") {
    // Deferrals used are still reported.
    JournalState journal;
    journal.reboot.deferrals_used = 2;
    const rollout::RebootStatus status = reboot_status(journal, limits(), settings(), kInside);
    CHECK_FALSE(status.pending);
    CHECK_FALSE(status.pending_since.has_value());
    CHECK_FALSE(status.deadline.has_value());
    CHECK_FALSE(status.scheduled_for.has_value());
    CHECK(status.deferrals_used == 2);
}

TEST_CASE("reboot_input: only reboot-pending bundles count, with their rollout's limits", "[agent][reboot]") {
    // The installed bundle of A is left out; windows and deferrals come along.
    JournalState journal = pending_journal();
    journal.reboot.deferrals_used = 1;
    journal.reboot.deferred_until = kInside;
    const rollout::RebootInput input = reboot_input(journal, limits(), settings());
    REQUIRE(input.pending.size() == 1);
    CHECK(input.pending[0].bundle == bundle_id(2));
    CHECK(input.pending[0].pending_since == kPendingSince);
    CHECK(input.pending[0].reboot_deadline == 48h);
    CHECK(input.pending[0].max_deferrals == 3);
    CHECK(input.windows == settings().windows);
    CHECK(input.deferrals_used == 1);
    CHECK(input.deferred_until == std::optional<Timestamp>(kInside));
}
