// Which bundles keep seeding when disk is short: a byte budget over the seeded
// bundles that evicts the least recently used unpinned ones first. Pure logic, no I/O.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <vector>

#include "common/error.hpp"
#include "rollout/ids.hpp"

namespace patchwave::net {

/// The policy: a new seed that does not fit evicts least recently used
/// *unpinned* seeds until it does; if it cannot fit even then, it is refused
/// with Errc::limit and nothing is evicted. Pinned seeds (bundles a manifest
/// still needs) are never evicted. Eviction stops seeding; it never deletes
/// files, which belong to the caller.
class SeedBudget {
public:
    using Clock = std::chrono::steady_clock;

    /// `capacity_bytes` 0 means unlimited.
    explicit SeedBudget(std::uint64_t capacity_bytes) : capacity_(capacity_bytes) {}

    /// Admits `id` (or updates its size and pin if present) and returns the
    /// seeds to evict for it to fit, least recently used first; they are
    /// already released from the budget.
    Result<std::vector<rollout::BundleId>> admit(const rollout::BundleId& id, std::uint64_t bytes, bool pinned,
                                                 Clock::time_point now);

    /// Marks `id` used at `now` (a peer downloaded from it). Unknown ids are ignored.
    void touch(const rollout::BundleId& id, Clock::time_point now);
    /// Errc::not_found when `id` is not admitted.
    Status set_pinned(const rollout::BundleId& id, bool pinned);
    /// Forgets `id`; unknown ids are ignored.
    void release(const rollout::BundleId& id);

    bool contains(const rollout::BundleId& id) const { return seeds_.contains(id); }
    std::uint64_t used_bytes() const { return used_; }
    std::uint64_t capacity_bytes() const { return capacity_; }

private:
    struct Seed {
        std::uint64_t bytes = 0;
        bool pinned = false;
        Clock::time_point last_used{};
    };

    std::uint64_t capacity_;
    std::uint64_t used_ = 0;
    std::map<rollout::BundleId, Seed> seeds_;
};

}  // namespace patchwave::net
