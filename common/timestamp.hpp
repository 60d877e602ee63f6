// Points in time as Patchwave passes them around: whole seconds, UTC, read and
// written as RFC 3339. Nothing here reads the clock; callers pass `now` in.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace patchwave {

using Timestamp = std::chrono::sys_seconds;

/// RFC 3339 date-time: "2026-11-24T01:00:00Z", "2026-11-24T02:00:00+01:00",
/// lower-case 't'/'z' and fractional seconds (dropped) accepted. Leap
/// seconds (":60") and dates that do not exist are rejected.
Result<Timestamp> parse_timestamp(std::string_view text);

/// "2026-11-24T01:00:00Z".
std::string format_timestamp(Timestamp time);

}  // namespace patchwave
