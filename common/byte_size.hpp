// Byte sizes and transfer rates as written in configuration: "512KB", "4MiB",
// "20MB/s", "0". KB/MB/GB/TB are decimal, KiB/MiB/GiB/TiB binary.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace patchwave {

/// A number of bytes with an optional unit (B, KB, MB, GB, TB, KiB, MiB, GiB,
/// TiB; case-insensitive; no unit means bytes). Fractions are allowed with a
/// unit ("1.5MB") and rounded down to whole bytes.
Result<std::uint64_t> parse_size(std::string_view text);

/// A rate in bytes per second: a size, optionally followed by "/s". "0" means
/// no limit to the callers that take limits.
Result<std::uint64_t> parse_rate(std::string_view text);

/// Human-readable binary size: "512 B", "1.5 MiB".
std::string format_size(std::uint64_t bytes);

}  // namespace patchwave
