#include "net/seed_budget.hpp"

#include <catch2/catch.hpp>

using namespace patchwave;
using net::SeedBudget;

namespace {

rollout::BundleId id_of(std::uint8_t n) {
    rollout::BundleId id{};
    id[0] = n;
    return id;
}

SeedBudget::Clock::time_point at(int seconds) {
    return SeedBudget::Clock::time_point(std::chrono::seconds(seconds));
}

}  // namespace

TEST_CASE("a seed that does not fit evicts the least recently used unpinned seeds", "[net]") {
    // Oldest use goes first; a touched seed counts as recently used.
    SeedBudget budget(300);
    REQUIRE(budget.admit(id_of(1), 100, false, at(1)).value().empty());
    REQUIRE(budget.admit(id_of(2), 100, false, at(2)).value().empty());
    REQUIRE(budget.admit(id_of(3), 100, false, at(3)).value().empty());
    budget.touch(id_of(1), at(4));
    auto evicted = budget.admit(id_of(4), 150, false, at(5));
    REQUIRE(evicted);
    CHECK(*evicted == std::vector<rollout::BundleId>{id_of(2), id_of(3)});
    CHECK(budget.used_bytes() == 250);
    CHECK(budget.contains(id_of(1)));
    CHECK_FALSE(budget.contains(id_of(2)));
}

TEST_CASE("pinned seeds are never evicted and a seed that cannot fit is refused", "[net]") {
    // Errc::limit, and the budget is unchanged by the refusal.
    SeedBudget budget(300);
    REQUIRE(budget.admit(id_of(1), 200, true, at(1)));
    REQUIRE(budget.admit(id_of(2), 100, false, at(2)));
    auto refused = budget.admit(id_of(3), 150, false, at(3));
    REQUIRE_FALSE(refused);
    CHECK(refused.error().is(Errc::limit));
    CHECK(budget.used_bytes() == 300);
    CHECK(budget.contains(id_of(2)));
    auto too_big = budget.admit(id_of(4), 301, false, at(4));
    REQUIRE_FALSE(too_big);
    CHECK(too_big.error().is(Errc::limit));
    // Unpinning makes the old seed evictable.
    REQUIRE(budget.set_pinned(id_of(1), false));
    CHECK(budget.admit(id_of(3), 150, false, at(5)).value() == std::vector<rollout::BundleId>{id_of(1)});
    CHECK(budget.set_pinned(id_of(9), true).error().is(Errc::not_found));
}

TEST_CASE("re-admitting a seed updates it, and zero capacity is unlimited", "[net]") {
    // The same id is counted once; capacity 0 never evicts.
    SeedBudget budget(100);
    REQUIRE(budget.admit(id_of(1), 60, false, at(1)));
    REQUIRE(budget.admit(id_of(1), 80, true, at(2)).value().empty());
    CHECK(budget.used_bytes() == 80);
    budget.release(id_of(1));
    CHECK(budget.used_bytes() == 0);

    SeedBudget unlimited(0);
    for (std::uint8_t n = 0; n < 50; ++n)
        REQUIRE(unlimited.admit(id_of(n), 1ull << 40, false, at(n)).value().empty());
    CHECK(unlimited.used_bytes() == 50ull << 40);
}
