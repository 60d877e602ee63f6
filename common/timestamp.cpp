#include "common/timestamp.hpp"

#include <cctype>
#include <cstdio>

namespace patchwave {
namespace {

std::unexpected<Error> bad(std::string_view text, std::string_view why) {
    return fail(Errc::invalid_argument,
                "\"" + std::string(text) + "\" is not an RFC 3339 time: " + std::string(why));
}

// Reads exactly `width` digits at `pos`; false when any is not a digit.
bool digits(std::string_view text, std::size_t pos, std::size_t width, int& out) {
    if (pos + width > text.size()) return false;
    out = 0;
    for (std::size_t i = pos; i < pos + width; ++i) {
        if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
        out = out * 10 + (text[i] - '0');
    }
    return true;
}

}  // namespace

Result<Timestamp> parse_timestamp(std::string_view text) {
    constexpr std::string_view kShape = "expected YYYY-MM-DDTHH:MM:SSZ";
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (!digits(text, 0, 4, year) || text.size() < 19 || text[4] != '-' ||
        !digits(text, 5, 2, month) || text[7] != '-' || !digits(text, 8, 2, day) ||
        (text[10] != 'T' && text[10] != 't') || !digits(text, 11, 2, hour) || text[13] != ':' ||
        !digits(text, 14, 2, minute) || text[16] != ':' || !digits(text, 17, 2, second)) {
        return bad(text, kShape);
    }
    std::size_t pos = 19;
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        const std::size_t start = pos;
        while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) ++pos;
        if (pos == start) return bad(text, "expected digits after '.'");
    }
    int offset_minutes = 0;
    if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
        ++pos;
    } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
        const int sign = text[pos] == '-' ? -1 : 1;
        int off_h = 0, off_m = 0;
        if (!digits(text, pos + 1, 2, off_h) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
            !digits(text, pos + 4, 2, off_m) || off_h > 23 || off_m > 59) {
            return bad(text, "bad UTC offset (expected Z or +HH:MM)");
        }
        offset_minutes = sign * (off_h * 60 + off_m);
        pos += 6;
    } else {
        return bad(text, "missing UTC offset (add Z or +HH:MM)");
    }
    if (pos != text.size()) return bad(text, "unexpected text after the offset");

    const std::chrono::year_month_day date{std::chrono::year{year},
                                           std::chrono::month{static_cast<unsigned>(month)},
                                           std::chrono::day{static_cast<unsigned>(day)}};
    if (!date.ok()) return bad(text, "no such date");
    if (hour > 23 || minute > 59) return bad(text, "no such time of day");
    if (second > 59) return bad(text, "seconds must be 00-59 (leap seconds are not accepted)");
    const auto local = std::chrono::sys_days{date} + std::chrono::hours{hour} +
                       std::chrono::minutes{minute} + std::chrono::seconds{second};
    return Timestamp{local - std::chrono::minutes{offset_minutes}};
}

std::string format_timestamp(Timestamp time) {
    const auto day = std::chrono::floor<std::chrono::days>(time);
    const std::chrono::year_month_day date{day};
    const std::chrono::hh_mm_ss clock{time - day};
    char buffer[40];
    std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(date.year()),
                  static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                  static_cast<int>(clock.hours().count()), static_cast<int>(clock.minutes().count()),
                  static_cast<int>(clock.seconds().count()));
    return buffer;
}

}  // namespace patchwave
