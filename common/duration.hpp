// Durations as operators write them in configuration: "90s", "10m", "4h", "2d",
// "1h30m". One parser and one formatter for the whole code base.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace patchwave {

using Duration = std::chrono::seconds;

/// Parses one or more `<digits><unit>` parts, units s, m, h, d, w; "0" alone is
/// zero. Rejects empty input, signs, unknown units, repeated or out-of-order
/// units and values that overflow. Error messages quote the input.
Result<Duration> parse_duration(std::string_view text);

/// The shortest form parse_duration reads back to the same value ("1h30m", "0s").
std::string format_duration(Duration duration);

}  // namespace patchwave
