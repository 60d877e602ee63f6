// Percentages as written in rollout files ("95%", "99.5%"), held as exact
// basis points so that gate arithmetic never rounds a threshold the wrong way.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace patchwave {

/// A share in hundredths of a percent: 0 = 0%, 10000 = 100%.
struct Percent {
    std::uint32_t basis_points = 0;

    static constexpr Percent whole(std::uint32_t percent) { return Percent{percent * 100}; }
    /// True when part/total is at least this share (total 0 counts as 100%).
    constexpr bool reached_by(std::uint64_t part, std::uint64_t total) const {
        return part * 10000 >= static_cast<std::uint64_t>(basis_points) * total;
    }
    /// True when part/total is strictly above this share (total 0: never).
    constexpr bool exceeded_by(std::uint64_t part, std::uint64_t total) const {
        return total > 0 && part * 10000 > static_cast<std::uint64_t>(basis_points) * total;
    }
    friend constexpr auto operator<=>(Percent, Percent) = default;
};

/// "95%", "0%", "100%", "99.5%", "12.25%": the '%' is required, at most two
/// decimals, 0-100 inclusive.
Result<Percent> parse_percent(std::string_view text);

/// "95%", "99.5%", "12.25%".
std::string format_percent(Percent percent);

}  // namespace patchwave
