// Maintenance and reboot windows ("Sat 01:00-05:00", "Mon-Fri 22:00-02:00",
// "daily 02:00-04:00"): whether a time is inside, when they next open and close.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/timestamp.hpp"

namespace patchwave::rollout {

/// A fixed offset from UTC at which window times are read ("+01:00"). There is
/// no zone database (and no daylight saving): the offset is what it says.
using UtcOffset = std::chrono::minutes;

/// One weekly recurring window in host-local time (UTC + offset).
struct Window {
    /// Days the window starts on: bit 0 = Monday ... bit 6 = Sunday.
    std::uint8_t days = 0;
    /// Minutes after local midnight, 0-1439.
    std::chrono::minutes start{};
    /// Minutes after local midnight, 1-1440 (1440 = "24:00"). An end at or
    /// before the start means the window runs past midnight into the next day
    /// (it still belongs to its start day); end == start is refused by parse.
    std::chrono::minutes end{};

    bool crosses_midnight() const { return end <= start; }
    friend bool operator==(const Window&, const Window&) = default;
};

inline constexpr std::uint8_t kEveryDay = 0x7f;

/// Parses `DAYS HH:MM-HH:MM`. DAYS is `daily`, a day (`Sat`), a range
/// (`Mon-Fri`, wrapping ranges like `Fri-Mon` allowed) or a comma list of
/// those (`Sat,Sun`, `Mon-Wed,Fri`); day names are three letters, any case.
/// DAYS may be left out for a daily window. Hours 0-23; "24:00" only as an
/// end. Errors (Errc::invalid_argument) quote the text and say why:
/// `"Sat 25:00-05:00" is not a window: hour 25 is not 0-23`.
Result<Window> parse_window(std::string_view text);

/// parse_window over a list; the first error wins, prefixed with its index.
Result<std::vector<Window>> parse_windows(std::span<const std::string> texts);

/// Canonical text: "daily 02:00-04:00", "Mon-Fri 22:00-02:00", "Sat,Sun 01:00-03:00".
std::string format_window(const Window& window);

/// "+01:00", "-05:30", "+00:00" or "Z"; at most 14 hours either way.
/// `"+1" is not a UTC offset: expected +HH:MM or -HH:MM`.
Result<UtcOffset> parse_utc_offset(std::string_view text);
/// "+01:00", "-05:30", "+00:00".
std::string format_utc_offset(UtcOffset offset);

/// A stretch of time during which at least one window is open. Overlapping and
/// touching windows merge into one period ("Sat 01:00-03:00" and "Sat
/// 03:00-05:00" close at 05:00). Start inclusive, end exclusive.
struct OpenPeriod {
    Timestamp opens{};
    /// std::nullopt when the windows never close (an empty list, or windows
    /// that together cover the whole week).
    std::optional<Timestamp> closes;
    friend bool operator==(const OpenPeriod&, const OpenPeriod&) = default;
};

/// The open period containing `now`, else the next one. For an always-open
/// schedule: {now, nullopt}. A period containing `now` reports the time it
/// opened (possibly before `now`). std::nullopt only when no window has any
/// day set (never open; parse_window cannot produce that).
std::optional<OpenPeriod> current_or_next_period(std::span<const Window> windows, UtcOffset offset,
                                                 Timestamp now);

/// True when `now` is inside a window: at its start is inside, at its end is
/// outside. An empty list is always open.
bool is_inside(std::span<const Window> windows, UtcOffset offset, Timestamp now);

/// `now` itself when inside, else the next time a window opens. Never nullopt
/// for parsed windows (every window opens at least once a week); the optional
/// is for windows built by hand with no days set.
std::optional<Timestamp> next_opening(std::span<const Window> windows, UtcOffset offset,
                                      Timestamp now);

/// When the open period around `now` ends ("window closes at"); nullopt when
/// outside, or when the schedule never closes.
std::optional<Timestamp> current_closing(std::span<const Window> windows, UtcOffset offset,
                                         Timestamp now);

/// When the current period ends, or when outside, when the next one will;
/// nullopt when the schedule never closes.
std::optional<Timestamp> next_closing(std::span<const Window> windows, UtcOffset offset,
                                      Timestamp now);

}  // namespace patchwave::rollout
