#include "rollout/host_view.hpp"

#include <catch2/catch.hpp>

#include "rules_fixtures.hpp"

using namespace patchwave;
using namespace patchwave::rollout;
using namespace patchwave::rollout::test;

namespace {

const Timestamp kT1 = at("2026-11-25T10:00:00Z");
const Timestamp kT2 = at("2026-11-25T11:00:00Z");
const Timestamp kT3 = at("2026-11-25T11:30:00Z");

HostRolloutState fold(const Manifest& manifest, std::vector<BundleStatus> bundles) {
    return aggregate_state(manifest, host_view("h", agent_id(1), {}, std::move(bundles), kT3));
}

}  // namespace

TEST_CASE("any failed bundle makes the host failed", "[rollout][host_view]") {
    // A failure outranks installed and in-progress bundles; since is the latest failure.
    const Manifest manifest = manifest_with({wave("all", {})}, 3);
    const auto state = fold(manifest, {bundle_status(bundle_id(1), HostState::installed, kT1),
                                       bundle_status(bundle_id(2), HostState::failed, kT2),
                                       bundle_status(bundle_id(3), HostState::downloading, kT3)});
    CHECK(state.state == HostState::failed);
    CHECK(state.since == kT2);
}

TEST_CASE("all bundles installed makes the host installed since the last one",
          "[rollout][host_view]") {
    // The host is installed from the moment its last bundle was.
    const Manifest manifest = manifest_with({wave("all", {})}, 2);
    const auto state = fold(manifest, {bundle_status(bundle_id(1), HostState::installed, kT2),
                                       bundle_status(bundle_id(2), HostState::installed, kT1)});
    CHECK(state.state == HostState::installed);
    CHECK(state.since == kT2);
}

TEST_CASE("installed and reboot-pending bundles make the host reboot-pending",
          "[rollout][host_view]") {
    // One coalesced reboot is all that is missing.
    const Manifest manifest = manifest_with({wave("all", {})}, 2);
    const auto state = fold(manifest, {bundle_status(bundle_id(1), HostState::reboot_pending, kT1),
                                       bundle_status(bundle_id(2), HostState::installed, kT2)});
    CHECK(state.state == HostState::reboot_pending);
}

TEST_CASE("otherwise the first bundle not installed decides", "[rollout][host_view]") {
    // Installed, then downloading, then waiting: the host is downloading.
    const Manifest manifest = manifest_with({wave("all", {})}, 3);
    const auto state = fold(manifest, {bundle_status(bundle_id(3), HostState::waiting, kT3),
                                       bundle_status(bundle_id(2), HostState::downloading, kT2),
                                       bundle_status(bundle_id(1), HostState::installed, kT1)});
    CHECK(state.state == HostState::downloading);
    CHECK(state.since == kT2);
}

TEST_CASE("a bundle with no entry counts as waiting", "[rollout][host_view]") {
    // The second bundle was never reported: after the installed first one, the host waits.
    const Manifest manifest = manifest_with({wave("all", {})}, 2);
    const auto state = fold(manifest, {bundle_status(bundle_id(1), HostState::installed, kT1)});
    CHECK(state.state == HostState::waiting);
    CHECK_FALSE(state.since.has_value());
}

TEST_CASE("a host without status for the rollout is waiting", "[rollout][host_view]") {
    // No status record, or one about another rollout, means waiting.
    const Manifest manifest = manifest_with({wave("all", {})});
    CHECK(aggregate_state(manifest, host_view("h", agent_id(1), {}, {}, std::nullopt, false)).state
          == HostState::waiting);
    HostView other = host_view("h", agent_id(1), {},
                               {bundle_status(bundle_id(1), HostState::installed, kT1)}, kT1);
    other.status->rollouts[0].rollout_id = "2026-10-A";
    CHECK(aggregate_state(manifest, other).state == HostState::waiting);
}

TEST_CASE("bundles outside the manifest do not count", "[rollout][host_view]") {
    // A failed bundle the manifest does not name leaves the host installed.
    const Manifest manifest = manifest_with({wave("all", {})}, 1);
    const auto state = fold(manifest, {bundle_status(bundle_id(1), HostState::installed, kT1),
                                       bundle_status(bundle_id(9), HostState::failed, kT2)});
    CHECK(state.state == HostState::installed);
}

TEST_CASE("a host never heard from is silent", "[rollout][host_view]") {
    // No last_heard at all counts as silent.
    const HostView host = host_view("h", agent_id(1), {}, {}, std::nullopt, false);
    CHECK(is_silent(host, kT3, std::chrono::minutes(15)));
}

TEST_CASE("silence starts strictly after the timeout", "[rollout][host_view]") {
    // Heard exactly 15m ago is still fine; 15m01s ago is silent.
    const HostView host = host_view("h", agent_id(1), {}, {}, kT2);
    CHECK_FALSE(is_silent(host, kT2 + std::chrono::minutes(15), std::chrono::minutes(15)));
    CHECK(is_silent(host, kT2 + std::chrono::seconds(901), std::chrono::minutes(15)));
}

TEST_CASE("find_rollout and find_bundle return null for what is not reported",
          "[rollout][host_view]") {
    // Lookups by id find the entry or nothing.
    const HostView host =
        host_view("h", agent_id(1), {}, {bundle_status(bundle_id(1), HostState::ready, kT1)}, kT1);
    const RolloutStatus* rollout = find_rollout(*host.status, "2026-11-B");
    REQUIRE(rollout != nullptr);
    CHECK(find_rollout(*host.status, "nope") == nullptr);
    REQUIRE(find_bundle(*rollout, bundle_id(1)) != nullptr);
    CHECK(find_bundle(*rollout, bundle_id(1))->state == HostState::ready);
    CHECK(find_bundle(*rollout, bundle_id(2)) == nullptr);
}
