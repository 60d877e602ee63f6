#include "rollout/reboot_policy.hpp"

#include <catch2/catch.hpp>

#include "rules_fixtures.hpp"

using namespace patchwave;
using namespace patchwave::rollout;
using namespace patchwave::rollout::test;

namespace {

// Pending since Tue 10:00 with a 48h deadline: reboot by Thu 2026-11-26T10:00:00Z.
PendingReboot pending(std::uint8_t bundle, std::string_view since = "2026-11-24T10:00:00Z",
                      Duration deadline = std::chrono::hours(48), std::uint32_t deferrals = 3) {
    return PendingReboot{bundle_id(bundle), at(since), deadline, deferrals};
}

// Reboot window daily 02:00-04:00 UTC.
RebootInput nightly(std::vector<PendingReboot> bundles) {
    RebootInput input;
    input.pending = std::move(bundles);
    input.windows = {parse_window("daily 02:00-04:00").value()};
    return input;
}

}  // namespace

TEST_CASE("nothing pending means no reboot", "[rollout][reboot]") {
    // Without reboot-pending bundles the policy does nothing and reports no time.
    const RebootInput input = nightly({});
    const auto decision = decide_reboot(input, at("2026-11-25T03:00:00Z"));
    CHECK(decision.action == RebootAction::none);
    CHECK_FALSE(decision.at.has_value());
    CHECK_FALSE(effective_reboot_time(input, at("2026-11-25T03:00:00Z")).has_value());
}

TEST_CASE("the earliest deadline of all pending bundles applies", "[rollout][reboot]") {
    // A 24h deadline from Wed 09:00 (Thu 09:00) beats a 48h one from Tue 10:00 (Thu 10:00).
    const std::vector<PendingReboot> bundles{
        pending(1), pending(2, "2026-11-25T09:00:00Z", std::chrono::hours(24))};
    CHECK(reboot_deadline(bundles) == at("2026-11-26T09:00:00Z"));
    CHECK_FALSE(reboot_deadline(std::vector<PendingReboot>{}).has_value());
}

TEST_CASE("the strictest deferral limit applies", "[rollout][reboot]") {
    // Limits of 3 and 1 allow 1 deferral; nothing pending allows none.
    const std::vector<PendingReboot> bundles{
        pending(1), pending(2, "2026-11-24T10:00:00Z", std::chrono::hours(48), 1)};
    CHECK(max_deferrals(bundles) == 1);
    CHECK(max_deferrals(std::vector<PendingReboot>{}) == 0);
}

TEST_CASE("a reached deadline reboots now whatever the window and deferrals", "[rollout][reboot]") {
    // At Thu 10:00, outside the window, with deferrals left and a deferral in force: reboot now.
    RebootInput input = nightly({pending(1)});
    input.deferred_until = at("2026-11-26T12:00:00Z");
    const auto decision = decide_reboot(input, at("2026-11-26T10:00:00Z"));
    CHECK(decision.action == RebootAction::reboot_now);
    CHECK(decision.at == at("2026-11-26T10:00:00Z"));
    CHECK(decision.reason
          == "reboot deadline 2026-11-26T10:00:00Z reached (one reboot for 1 pending bundle)");
}

TEST_CASE("one second before the deadline the window still rules", "[rollout][reboot]") {
    // Thu 09:59:59 is outside the window and before the deadline: wait for the deadline.
    const auto decision = decide_reboot(nightly({pending(1)}), at("2026-11-26T09:59:59Z"));
    CHECK(decision.action == RebootAction::wait);
    CHECK(decision.at == at("2026-11-26T10:00:00Z"));
    CHECK(
        decision.reason
        == "waiting for the reboot deadline 2026-11-26T10:00:00Z (one reboot for 1 pending "
           "bundle)");
}

TEST_CASE("outside the window the reboot waits for the next opening", "[rollout][reboot]") {
    // Tue 12:00: the next window opens Wed 02:00, before the Thu 10:00 deadline.
    const auto decision = decide_reboot(nightly({pending(1)}), at("2026-11-24T12:00:00Z"));
    CHECK(decision.action == RebootAction::wait);
    CHECK(decision.at == at("2026-11-25T02:00:00Z"));
    CHECK(decision.deadline == at("2026-11-26T10:00:00Z"));
    CHECK(decision.reason ==
          "waiting for the reboot window at 2026-11-25T02:00:00Z (one reboot for 1 pending bundle)");
}

TEST_CASE("a deadline before the next window wins", "[rollout][reboot]") {
    // With a Sunday-only window the Thursday deadline comes first.
    RebootInput input = nightly({pending(1)});
    input.windows = {parse_window("Sun 02:00-04:00").value()};
    const auto decision = decide_reboot(input, at("2026-11-24T12:00:00Z"));
    CHECK(decision.action == RebootAction::wait);
    CHECK(decision.at == at("2026-11-26T10:00:00Z"));
}

TEST_CASE("inside the window with a deferral left the user is asked", "[rollout][reboot]") {
    // Wed 02:30 inside the window, 1 of 3 deferrals used: ask, 2 left.
    RebootInput input = nightly({pending(1)});
    input.deferrals_used = 1;
    const auto decision = decide_reboot(input, at("2026-11-25T02:30:00Z"));
    CHECK(decision.action == RebootAction::ask_user);
    CHECK(decision.deferrals_left == 2);
    CHECK(decision.at == at("2026-11-25T02:30:00Z"));
    CHECK(decision.reason
          == "inside the reboot window; 2 deferral(s) left (one reboot for 1 pending bundle)");
}

TEST_CASE("inside the window with no deferral left the host reboots now", "[rollout][reboot]") {
    // 3 of 3 deferrals used: no question, reboot.
    RebootInput input = nightly({pending(1)});
    input.deferrals_used = 3;
    const auto decision = decide_reboot(input, at("2026-11-25T02:30:00Z"));
    CHECK(decision.action == RebootAction::reboot_now);
    CHECK(decision.deferrals_left == 0);
    CHECK(decision.reason
          == "inside the reboot window, no deferral left (one reboot for 1 pending bundle)");
}

TEST_CASE("a manifest allowing no deferrals never asks", "[rollout][reboot]") {
    // max_reboot_deferrals = 0: inside the window means reboot now.
    const auto decision =
        decide_reboot(nightly({pending(1, "2026-11-24T10:00:00Z", std::chrono::hours(48), 0)}),
                      at("2026-11-25T02:30:00Z"));
    CHECK(decision.action == RebootAction::reboot_now);
}

TEST_CASE("no reboot windows means any time is reboot time", "[rollout][reboot]") {
    // An empty window list is always open: ask at once.
    RebootInput input = nightly({pending(1)});
    input.windows.clear();
    const auto decision = decide_reboot(input, at("2026-11-24T15:00:00Z"));
    CHECK(decision.action == RebootAction::ask_user);
}

TEST_CASE("reboot windows are read in the host's UTC offset", "[rollout][reboot]") {
    // At +01:00, 01:30 UTC is 02:30 local: inside the nightly window.
    RebootInput input = nightly({pending(1)});
    input.offset = std::chrono::minutes(60);
    CHECK(decide_reboot(input, at("2026-11-25T01:30:00Z")).action == RebootAction::ask_user);
    CHECK(decide_reboot(input, at("2026-11-25T03:30:00Z")).action == RebootAction::wait);
}

TEST_CASE("a deferral in force holds the reboot until it ends", "[rollout][reboot]") {
    // Deferred to 03:30 inside the window: wait until 03:30 and then ask again.
    RebootInput input = nightly({pending(1)});
    input.deferrals_used = 1;
    input.deferred_until = at("2026-11-25T03:30:00Z");
    const auto held = decide_reboot(input, at("2026-11-25T02:30:00Z"));
    CHECK(held.action == RebootAction::wait);
    CHECK(held.at == at("2026-11-25T03:30:00Z"));
    CHECK(held.reason
          == "deferred by the user until 2026-11-25T03:30:00Z (one reboot for 1 pending bundle)");
    const auto again = decide_reboot(input, at("2026-11-25T03:30:00Z"));
    CHECK(again.action == RebootAction::ask_user);
    CHECK(again.deferrals_left == 2);
}

TEST_CASE("a deferral never holds the reboot past the deadline", "[rollout][reboot]") {
    // Deferred to Thu 12:00 but due Thu 10:00: wait until 10:00.
    RebootInput input = nightly({pending(1)});
    input.deferred_until = at("2026-11-26T12:00:00Z");
    const auto decision = decide_reboot(input, at("2026-11-26T03:00:00Z"));
    CHECK(decision.action == RebootAction::wait);
    CHECK(decision.at == at("2026-11-26T10:00:00Z"));
}

TEST_CASE("one reboot serves every pending bundle", "[rollout][reboot]") {
    // Three bundles from two rollouts share one decision.
    const auto decision =
        decide_reboot(nightly({pending(1), pending(2), pending(3, "2026-11-25T00:00:00Z")}),
                      at("2026-11-25T02:30:00Z"));
    CHECK(decision.action == RebootAction::ask_user);
    CHECK(decision.bundles == 3);
    CHECK(decision.reason
          == "inside the reboot window; 3 deferral(s) left (one reboot for 3 pending bundles)");
}

TEST_CASE("the effective reboot time is the next window opening", "[rollout][reboot]") {
    // From Tue 12:00 the host will reboot at Wed 02:00; inside the window it is now.
    const RebootInput input = nightly({pending(1)});
    CHECK(effective_reboot_time(input, at("2026-11-24T12:00:00Z")) == at("2026-11-25T02:00:00Z"));
    CHECK(effective_reboot_time(input, at("2026-11-25T02:30:00Z")) == at("2026-11-25T02:30:00Z"));
}

TEST_CASE("the effective reboot time is the deadline when that is earlier", "[rollout][reboot]") {
    // Thu 05:00: the next window (Fri 02:00) is after the Thu 10:00 deadline.
    const RebootInput input = nightly({pending(1)});
    CHECK(effective_reboot_time(input, at("2026-11-26T05:00:00Z")) == at("2026-11-26T10:00:00Z"));
    CHECK(effective_reboot_time(input, at("2026-11-26T11:00:00Z")) == at("2026-11-26T11:00:00Z"));
}

TEST_CASE("the effective reboot time starts from a deferral's end", "[rollout][reboot]") {
    // Deferred past the window's close to Wed 05:00: next opening is Thu 02:00.
    RebootInput input = nightly({pending(1)});
    input.deferred_until = at("2026-11-25T05:00:00Z");
    CHECK(effective_reboot_time(input, at("2026-11-25T02:30:00Z")) == at("2026-11-26T02:00:00Z"));
}

TEST_CASE("a deferral pushes the reboot by its duration", "[rollout][reboot]") {
    // Deferring at Wed 02:30 for 1h (the default) gives 03:30; for 4h, 06:30.
    const RebootInput input = nightly({pending(1)});
    CHECK(defer_reboot(input, at("2026-11-25T02:30:00Z")).value() == at("2026-11-25T03:30:00Z"));
    CHECK(defer_reboot(input, at("2026-11-25T02:30:00Z"), std::chrono::hours(4)).value()
          == at("2026-11-25T06:30:00Z"));
}

TEST_CASE("a deferral is clamped to the deadline", "[rollout][reboot]") {
    // Deferring 8h at Thu 05:00 stops at the Thu 10:00 deadline.
    const RebootInput input = nightly({pending(1)});
    CHECK(defer_reboot(input, at("2026-11-26T05:00:00Z"), std::chrono::hours(8)).value()
          == at("2026-11-26T10:00:00Z"));
}

TEST_CASE("a deferral is refused when none is left or the deadline passed", "[rollout][reboot]") {
    // Each refusal says why.
    RebootInput input = nightly({pending(1)});
    input.deferrals_used = 3;
    auto none_left = defer_reboot(input, at("2026-11-25T02:30:00Z"));
    REQUIRE_FALSE(none_left);
    CHECK(none_left.error().is(Errc::state));
    CHECK(none_left.error().message() == "no deferral left (3 of 3 used)");

    input.deferrals_used = 0;
    auto late = defer_reboot(input, at("2026-11-26T10:00:00Z"));
    REQUIRE_FALSE(late);
    CHECK(late.error().message() == "the reboot deadline 2026-11-26T10:00:00Z has passed");

    auto nothing = defer_reboot(nightly({}), at("2026-11-25T02:30:00Z"));
    REQUIRE_FALSE(nothing);
    CHECK(nothing.error().message() == "no reboot is pending");

    auto zero = defer_reboot(input, at("2026-11-25T02:30:00Z"), Duration::zero());
    REQUIRE_FALSE(zero);
    CHECK(zero.error().is(Errc::invalid_argument));
    CHECK(zero.error().message() == "a deferral must be longer than zero, not 0s");
}

TEST_CASE("reboot actions have their text forms", "[rollout][reboot]") {
    // The names the agent shows in `status`.
    CHECK(to_string(RebootAction::none) == "none");
    CHECK(to_string(RebootAction::reboot_now) == "reboot-now");
    CHECK(to_string(RebootAction::wait) == "wait");
    CHECK(to_string(RebootAction::ask_user) == "ask-user");
}
