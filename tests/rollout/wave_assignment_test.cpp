#include "rollout/wave_assignment.hpp"

#include <catch2/catch.hpp>

#include "rules_fixtures.hpp"

using namespace patchwave;
using namespace patchwave::rollout;
using namespace patchwave::rollout::test;

namespace {

AgentId counting_agent() {
    AgentId id{};
    for (std::size_t i = 0; i < id.size(); ++i)
        id[i] = static_cast<std::uint8_t>(i);
    return id;
}

}  // namespace

TEST_CASE("an empty selector matches every host", "[rollout][waves]") {
    // A wave without select takes hosts with any labels, or none.
    CHECK(selector_matches({}, {}));
    CHECK(selector_matches({}, {{"ring", "prod"}}));
}

TEST_CASE("a selector needs every key present with the same value", "[rollout][waves]") {
    // Extra labels are fine; a missing key or a different value is not.
    const LabelSelector select{{"ring", "prod"}, {"site", "fra"}};
    CHECK(selector_matches(select, {{"ring", "prod"}, {"site", "fra"}, {"os", "debian"}}));
    CHECK_FALSE(selector_matches(select, {{"ring", "prod"}}));
    CHECK_FALSE(selector_matches(select, {{"ring", "prod"}, {"site", "ams"}}));
    CHECK_FALSE(selector_matches(select, {{"ring", "Prod"}, {"site", "fra"}}));
}

TEST_CASE("the share point follows the documented hash input exactly", "[rollout][waves]") {
    // Golden values computed independently (Python hashlib) from the layout in docs.
    const AgentId agent = counting_agent();
    CHECK(share_point("2026-11-B", "canary", agent) == 4246);
    CHECK(share_point("2026-11-B", "rest", agent) == 7838);
    CHECK(share_point("2026-11-C", "canary", agent) == 3648);
}

TEST_CASE("the share point is the same on every call", "[rollout][waves]") {
    // No state, no host count: the same inputs give the same point.
    for (std::uint64_t n = 0; n < 50; ++n) {
        const std::uint32_t first = share_point("2026-11-B", "canary", agent_id(n));
        CHECK(first < 10000);
        CHECK(share_point("2026-11-B", "canary", agent_id(n)) == first);
    }
}

TEST_CASE("a percent wave contains exactly the hosts whose point is below percent*100",
          "[rollout][waves]") {
    // 5% means share points 0-499.
    const WaveSpec canary = wave("canary", {{"ring", "prod"}}, 5);
    std::size_t inside = 0;
    for (std::uint64_t n = 0; n < 2000; ++n) {
        const bool expected = share_point("2026-11-B", "canary", agent_id(n)) < 500;
        CHECK(in_share(canary, "2026-11-B", agent_id(n)) == expected);
        if (expected)
            ++inside;
    }
    CHECK(inside > 0);
    CHECK(inside < 2000);
}

TEST_CASE("a wave without percent or at 100 percent takes every selected host",
          "[rollout][waves]") {
    // No share restriction when percent is absent or 100.
    const WaveSpec all = wave("rest", {});
    const WaveSpec hundred = wave("hundred", {}, 100);
    for (std::uint64_t n = 0; n < 200; ++n) {
        CHECK(in_share(all, "2026-11-B", agent_id(n)));
        CHECK(in_share(hundred, "2026-11-B", agent_id(n)));
    }
}

TEST_CASE("a host belongs to the first wave whose selector matches", "[rollout][waves]") {
    // A test-ring host matches "test" and the catch-all, and lands in "test".
    const std::vector<WaveSpec> waves{wave("test", {{"ring", "test"}}), wave("all", {})};
    CHECK(assign_wave("2026-11-B", waves, agent_id(1), {{"ring", "test"}}) == 0U);
    CHECK(assign_wave("2026-11-B", waves, agent_id(1), {{"ring", "prod"}}) == 1U);
}

TEST_CASE("a host outside a percent share falls through to the next wave", "[rollout][waves]") {
    // Prod hosts outside the 5% canary share go to "rest".
    const std::vector<WaveSpec> waves{wave("canary", {{"ring", "prod"}}, 5),
                                      wave("rest", {{"ring", "prod"}})};
    std::size_t canary = 0;
    std::size_t rest = 0;
    for (std::uint64_t n = 0; n < 1000; ++n) {
        const auto assigned = assign_wave("2026-11-B", waves, agent_id(n), {{"ring", "prod"}});
        REQUIRE(assigned.has_value());
        const bool in_canary = share_point("2026-11-B", "canary", agent_id(n)) < 500;
        CHECK(*assigned == (in_canary ? 0U : 1U));
        (*assigned == 0 ? canary : rest) += 1;
    }
    CHECK(canary + rest == 1000);
    CHECK(canary > 0);
}

TEST_CASE("a host no wave selects is not targeted", "[rollout][waves]") {
    // Labels matching no selector leave the host out of the rollout.
    const std::vector<WaveSpec> waves{wave("test", {{"ring", "test"}}),
                                      wave("prod", {{"ring", "prod"}})};
    CHECK_FALSE(assign_wave("2026-11-B", waves, agent_id(7), {{"ring", "lab"}}).has_value());
    CHECK_FALSE(assign_wave("2026-11-B", waves, agent_id(7), {}).has_value());
}

TEST_CASE("assignment through a manifest uses its rollout id and waves", "[rollout][waves]") {
    // The manifest overload agrees with the explicit one.
    const Manifest manifest = manifest_with({wave("canary", {}, 30), wave("rest", {})});
    for (std::uint64_t n = 0; n < 100; ++n) {
        CHECK(assign_wave(manifest, agent_id(n), {})
              == assign_wave("2026-11-B", manifest.waves, agent_id(n), {}));
    }
}

TEST_CASE("the share differs between waves so a second percent wave draws afresh",
          "[rollout][waves]") {
    // Two waves over the same selector do not reuse one point: some host is low in one and high in
    // the other.
    bool differs = false;
    for (std::uint64_t n = 0; n < 100 && !differs; ++n) {
        const bool first = share_point("2026-11-B", "canary", agent_id(n)) < 1000;
        const bool second = share_point("2026-11-B", "early", agent_id(n)) < 1000;
        differs = first != second;
    }
    CHECK(differs);
}
