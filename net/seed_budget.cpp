#include "net/seed_budget.hpp"

#include <algorithm>
#include <string>

#include "common/byte_size.hpp"

namespace patchwave::net {

Result<std::vector<rollout::BundleId>> SeedBudget::admit(const rollout::BundleId& id, std::uint64_t bytes, bool pinned,
                                                         Clock::time_point now) {
    const auto existing = seeds_.find(id);
    const std::uint64_t already = existing == seeds_.end() ? 0 : existing->second.bytes;
    const std::uint64_t others = used_ - already;
    std::vector<rollout::BundleId> evict;
    if (capacity_ != 0 && others + bytes > capacity_) {
        if (bytes > capacity_) {
            return fail(Errc::limit, "bundle " + rollout::short_hex(id) + " is " + format_size(bytes)
                                         + ", more than the whole seeding budget of " + format_size(capacity_));
        }
        // Least recently used first; the id breaks ties so the choice is reproducible.
        std::vector<std::pair<Clock::time_point, rollout::BundleId>> candidates;
        for (const auto& [other, seed] : seeds_) {
            if (other != id && !seed.pinned) candidates.emplace_back(seed.last_used, other);
        }
        std::sort(candidates.begin(), candidates.end());
        std::uint64_t freed = 0;
        for (const auto& [last_used, other] : candidates) {
            if (others - freed + bytes <= capacity_) break;
            freed += seeds_.at(other).bytes;
            evict.push_back(other);
        }
        if (others - freed + bytes > capacity_) {
            return fail(Errc::limit, "bundle " + rollout::short_hex(id) + " (" + format_size(bytes)
                                         + ") does not fit the seeding budget of " + format_size(capacity_) + ": "
                                         + format_size(others - freed) + " is held by pinned seeds");
        }
        for (const auto& other : evict)
            release(other);
    }
    Seed& seed = seeds_[id];
    used_ = used_ - seed.bytes + bytes;
    seed.bytes = bytes;
    seed.pinned = pinned;
    seed.last_used = now;
    return evict;
}

void SeedBudget::touch(const rollout::BundleId& id, Clock::time_point now) {
    if (auto it = seeds_.find(id); it != seeds_.end()) it->second.last_used = std::max(it->second.last_used, now);
}

Status SeedBudget::set_pinned(const rollout::BundleId& id, bool pinned) {
    auto it = seeds_.find(id);
    if (it == seeds_.end()) return fail(Errc::not_found, "bundle " + rollout::short_hex(id) + " is not seeded");
    it->second.pinned = pinned;
    return {};
}

void SeedBudget::release(const rollout::BundleId& id) {
    if (auto it = seeds_.find(id); it != seeds_.end()) {
        used_ -= it->second.bytes;
        seeds_.erase(it);
    }
}

}  // namespace patchwave::net
