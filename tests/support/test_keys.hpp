// Deterministic Ed25519 keys for tests: key(n) is the same key in every run,
// so failures reproduce and no test pays for randomness.
#pragma once

#include <array>
#include <cstdint>

#include "crypto/keys.hpp"

namespace patchwave::testing {

inline crypto::PrivateKey test_key(std::uint8_t n) {
    std::array<std::uint8_t, 32> seed{};
    seed.fill(n);
    seed[0] = 0xa5;  // no all-zero seed even for n = 0
    return crypto::PrivateKey::from_seed(seed);
}

}  // namespace patchwave::testing
