// The seeded random source every gossip decision draws from (probe order,
// gossip targets, jitter), so that one seed replays one run exactly.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace patchwave::net::gossip {

/// xoshiro256** seeded through splitmix64: 32 bytes of state, the same
/// sequence on every platform and standard library (std distributions are
/// not portable, so none are used).
class Rng {
public:
    explicit Rng(std::uint64_t seed);

    std::uint64_t next();
    /// Uniform in [0, bound); 0 when bound is 0. Unbiased (rejection sampling).
    std::uint64_t below(std::uint64_t bound);
    /// Uniform in [0, 1).
    double unit();
    /// True with probability p.
    bool chance(double p) { return unit() < p; }

private:
    std::array<std::uint64_t, 4> state_{};
};

/// splitmix64: derives independent seeds (one per node) from one run seed.
std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t stream);

}  // namespace patchwave::net::gossip
