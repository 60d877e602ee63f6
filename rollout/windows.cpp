#include "rollout/windows.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>

namespace patchwave::rollout {
namespace {

using std::chrono::days;
using std::chrono::minutes;

constexpr std::array<std::string_view, 7> kDayNames{"Mon", "Tue", "Wed", "Thu",
                                                    "Fri", "Sat", "Sun"};
constexpr minutes kDay{1440};
constexpr minutes kMaxOffset{14 * 60};

std::unexpected<Error> bad_window(std::string_view text, std::string_view why) {
    return fail(Errc::invalid_argument,
                "\"" + std::string(text) + "\" is not a window: " + std::string(why));
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
        text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
        text.remove_suffix(1);
    return text;
}

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// Index 0 (Mon) - 6 (Sun), or nullopt for anything but a three-letter day name.
std::optional<int> day_index(std::string_view name) {
    const std::string wanted = lower(name);
    for (std::size_t i = 0; i < kDayNames.size(); ++i) {
        if (lower(kDayNames[i]) == wanted)
            return static_cast<int>(i);
    }
    return std::nullopt;
}

// Reads "Mon", "Mon-Fri", "Fri-Mon", "Sat,Sun", "daily" into a day mask.
// `why` receives the reason on failure.
std::optional<std::uint8_t> parse_days(std::string_view spec, std::string& why) {
    if (lower(spec) == "daily")
        return kEveryDay;
    std::uint8_t mask = 0;
    while (true) {
        const std::size_t comma = spec.find(',');
        const std::string_view item = spec.substr(0, comma);
        if (item.empty()) {
            why = "empty day in list";
            return std::nullopt;
        }
        if (lower(item) == "daily") {
            why = "daily cannot be combined with days";
            return std::nullopt;
        }
        const std::size_t dash = item.find('-');
        const std::string_view first_name = item.substr(0, dash);
        const std::string_view last_name =
            dash == std::string_view::npos ? first_name : item.substr(dash + 1);
        const auto first = day_index(first_name);
        const auto last = day_index(last_name);
        if (!first || !last) {
            why = "unknown day \"" + std::string(first ? last_name : first_name)
                  + "\" (use Mon, Tue, Wed, Thu, Fri, Sat, Sun or daily)";
            return std::nullopt;
        }
        // A range may wrap over the week's end: Fri-Mon is Fri, Sat, Sun, Mon.
        for (int day = *first;; day = (day + 1) % 7) {
            const auto bit = static_cast<std::uint8_t>(1U << day);
            if ((mask & bit) != 0) {
                why = std::string(kDayNames[static_cast<std::size_t>(day)]) + " is listed twice";
                return std::nullopt;
            }
            mask = static_cast<std::uint8_t>(mask | bit);
            if (day == *last)
                break;
        }
        if (comma == std::string_view::npos)
            break;
        spec.remove_prefix(comma + 1);
    }
    return mask;
}

// Reads "H:MM" or "HH:MM" into minutes after midnight; 24:00 is 1440.
std::optional<minutes> parse_clock(std::string_view text, std::string& why) {
    const std::size_t colon = text.find(':');
    const std::string_view hours = text.substr(0, colon);
    const std::string_view mins =
        colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
    const auto all_digits = [](std::string_view part) {
        return std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    if (colon == std::string_view::npos || hours.empty() || hours.size() > 2 || mins.size() != 2
        || !all_digits(hours) || !all_digits(mins)) {
        why = "time \"" + std::string(text) + "\" is not HH:MM";
        return std::nullopt;
    }
    const int hour = std::stoi(std::string(hours));
    const int minute = std::stoi(std::string(mins));
    if (hour == 24 && minute == 0)
        return kDay;
    if (hour > 23) {
        why = "hour " + std::to_string(hour) + " is not 0-23";
        return std::nullopt;
    }
    if (minute > 59) {
        why = "minute " + std::to_string(minute) + " is not 0-59";
        return std::nullopt;
    }
    return minutes(hour * 60 + minute);
}

std::string clock_text(minutes value) {
    char buffer[8];
    std::snprintf(buffer, sizeof buffer, "%02d:%02d", static_cast<int>(value.count() / 60),
                  static_cast<int>(value.count() % 60));
    return buffer;
}

struct Interval {
    Timestamp start;
    Timestamp end;
};

// Every occurrence of every window whose start day lies from 8 local days
// before `now` to 15 after, in UTC, merged where they overlap or touch. That
// span holds the period containing `now` and the next one whenever they are
// shorter than a week; a merged period of a week or more means the schedule
// never closes (the union is weekly periodic), so truncation cannot mislead.
std::vector<Interval> merged_occurrences(std::span<const Window> windows, UtcOffset offset,
                                         Timestamp now) {
    const auto local_today = std::chrono::floor<days>(now + offset);
    std::vector<Interval> occurrences;
    for (int delta = -8; delta <= 15; ++delta) {
        const std::chrono::sys_days day = local_today + days(delta);
        const unsigned index = std::chrono::weekday(day).iso_encoding() - 1;  // Mon = 0
        for (const Window& window : windows) {
            if ((window.days & (1U << index)) == 0)
                continue;
            const Timestamp start = day + window.start - offset;
            const Timestamp end =
                day + (window.crosses_midnight() ? kDay : minutes(0)) + window.end - offset;
            occurrences.push_back({start, end});
        }
    }
    std::sort(occurrences.begin(), occurrences.end(),
              [](const Interval& a, const Interval& b) { return a.start < b.start; });
    std::vector<Interval> merged;
    for (const Interval& next : occurrences) {
        if (!merged.empty() && next.start <= merged.back().end) {
            merged.back().end = std::max(merged.back().end, next.end);
        } else {
            merged.push_back(next);
        }
    }
    return merged;
}

}  // namespace

Result<Window> parse_window(std::string_view text) {
    const std::string_view body = trim(text);
    if (body.empty())
        return bad_window(text, "empty (use e.g. \"Sat 01:00-05:00\")");
    // The time range is the last word; everything before it names the days
    // (spaces inside the day list, as in "Sat, Sun", are tolerated).
    const std::size_t split = body.find_last_of(" \t");
    const std::string_view range = split == std::string_view::npos ? body : body.substr(split + 1);
    std::string day_spec;
    if (split != std::string_view::npos) {
        for (char c : body.substr(0, split)) {
            if (!std::isspace(static_cast<unsigned char>(c)))
                day_spec.push_back(c);
        }
    }
    Window window;
    std::string why;
    if (day_spec.empty()) {
        window.days = kEveryDay;
    } else {
        const auto mask = parse_days(day_spec, why);
        if (!mask)
            return bad_window(text, why);
        window.days = *mask;
    }
    const std::size_t dash = range.find('-');
    if (dash == std::string_view::npos || range.find('-', dash + 1) != std::string_view::npos) {
        return bad_window(text, "expected a time range HH:MM-HH:MM");
    }
    const auto start = parse_clock(range.substr(0, dash), why);
    if (!start)
        return bad_window(text, why);
    const auto end = parse_clock(range.substr(dash + 1), why);
    if (!end)
        return bad_window(text, why);
    if (*start == kDay)
        return bad_window(text, "24:00 is only allowed as an end");
    if (*start == *end)
        return bad_window(text, "start equals end (use 00:00-24:00 for a whole day)");
    window.start = *start;
    window.end = *end;
    return window;
}

Result<std::vector<Window>> parse_windows(std::span<const std::string> texts) {
    std::vector<Window> windows;
    windows.reserve(texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
        auto window = parse_window(texts[i]);
        if (!window)
            return fail(std::move(window.error()).with_context("window " + std::to_string(i + 1)));
        windows.push_back(*window);
    }
    return windows;
}

std::string format_window(const Window& window) {
    std::string days_text;
    if ((window.days & kEveryDay) == kEveryDay) {
        days_text = "daily";
    } else {
        // Runs of three or more days read as ranges, shorter ones as lists.
        int day = 0;
        while (day < 7) {
            if ((window.days & (1U << day)) == 0) {
                ++day;
                continue;
            }
            int last = day;
            while (last + 1 < 7 && (window.days & (1U << (last + 1))) != 0)
                ++last;
            const auto name = [](int index) {
                return std::string(kDayNames[static_cast<std::size_t>(index)]);
            };
            if (!days_text.empty())
                days_text += ",";
            if (last - day >= 2) {
                days_text += name(day) + "-" + name(last);
            } else {
                days_text += name(day);
                if (last != day)
                    days_text += "," + name(last);
            }
            day = last + 1;
        }
    }
    return days_text + " " + clock_text(window.start) + "-" + clock_text(window.end);
}

Result<UtcOffset> parse_utc_offset(std::string_view text) {
    const auto bad = [&](std::string_view why) {
        return fail(Errc::invalid_argument,
                    "\"" + std::string(text) + "\" is not a UTC offset: " + std::string(why));
    };
    if (text == "Z" || text == "z")
        return UtcOffset(0);
    const auto digit = [&](std::size_t i) { return text[i] >= '0' && text[i] <= '9'; };
    if (text.size() != 6 || (text[0] != '+' && text[0] != '-') || text[3] != ':' || !digit(1)
        || !digit(2) || !digit(4) || !digit(5)) {
        return bad("expected +HH:MM or -HH:MM, e.g. +01:00 (zone names are not supported)");
    }
    const int hours = (text[1] - '0') * 10 + (text[2] - '0');
    const int mins = (text[4] - '0') * 10 + (text[5] - '0');
    if (mins > 59)
        return bad("minutes " + std::to_string(mins) + " are not 0-59");
    const minutes magnitude(hours * 60 + mins);
    if (magnitude > kMaxOffset)
        return bad("more than 14 hours from UTC");
    return text[0] == '-' ? -magnitude : magnitude;
}

std::string format_utc_offset(UtcOffset offset) {
    const char sign = offset < minutes(0) ? '-' : '+';
    return sign + clock_text(offset < minutes(0) ? -offset : offset);
}

std::optional<OpenPeriod> current_or_next_period(std::span<const Window> windows, UtcOffset offset,
                                                 Timestamp now) {
    if (windows.empty())
        return OpenPeriod{now, std::nullopt};
    for (const Interval& period : merged_occurrences(windows, offset, now)) {
        if (period.end <= now)
            continue;
        if (period.end - period.start >= days(7))
            return OpenPeriod{now, std::nullopt};
        return OpenPeriod{period.start, period.end};
    }
    return std::nullopt;  // no window has a day set
}

bool is_inside(std::span<const Window> windows, UtcOffset offset, Timestamp now) {
    const auto period = current_or_next_period(windows, offset, now);
    return period && period->opens <= now;
}

std::optional<Timestamp> next_opening(std::span<const Window> windows, UtcOffset offset,
                                      Timestamp now) {
    const auto period = current_or_next_period(windows, offset, now);
    if (!period)
        return std::nullopt;
    return std::max(period->opens, now);
}

std::optional<Timestamp> current_closing(std::span<const Window> windows, UtcOffset offset,
                                         Timestamp now) {
    const auto period = current_or_next_period(windows, offset, now);
    if (!period || period->opens > now)
        return std::nullopt;
    return period->closes;
}

std::optional<Timestamp> next_closing(std::span<const Window> windows, UtcOffset offset,
                                      Timestamp now) {
    const auto period = current_or_next_period(windows, offset, now);
    if (!period)
        return std::nullopt;
    return period->closes;
}

}  // namespace patchwave::rollout
