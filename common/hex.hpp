// Lower-case hexadecimal for ids and digests (bundle ids, key ids, hashes):
// the one text form Patchwave prints and accepts for binary identifiers.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace patchwave {

std::string to_hex(std::span<const std::uint8_t> bytes);

/// Accepts upper or lower case; rejects odd lengths and non-hex characters.
Result<std::vector<std::uint8_t>> from_hex(std::string_view text);

/// Like from_hex, but the text must encode exactly N bytes.
template <std::size_t N>
Result<std::array<std::uint8_t, N>> from_hex_fixed(std::string_view text) {
    if (text.size() != 2 * N) {
        return fail(Errc::invalid_argument, "\"" + std::string(text) + "\" is not " +
                                                std::to_string(2 * N) + " hex characters");
    }
    auto bytes = from_hex(text);
    if (!bytes) return std::unexpected(std::move(bytes.error()));
    std::array<std::uint8_t, N> out{};
    for (std::size_t i = 0; i < N; ++i) out[i] = (*bytes)[i];
    return out;
}

}  // namespace patchwave
