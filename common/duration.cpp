#include "common/duration.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <limits>

namespace patchwave {
namespace {

struct Unit {
    char symbol;
    std::int64_t seconds;
};
// Largest first: parts must come in this order, each at most once.
constexpr std::array<Unit, 5> kUnits{{{'w', 604800}, {'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}}};

// Caps durations at ~100 years so arithmetic on time points never overflows.
constexpr std::int64_t kMaxSeconds = 100LL * 366 * 86400;

std::unexpected<Error> bad(std::string_view text, std::string_view why) {
    return fail(Errc::invalid_argument,
                "\"" + std::string(text) + "\" is not a duration: " + std::string(why));
}

}  // namespace

Result<Duration> parse_duration(std::string_view text) {
    if (text.empty()) return bad(text, "empty (use e.g. 90s, 10m, 4h, 2d)");
    if (text == "0") return Duration::zero();
    std::int64_t total = 0;
    std::size_t next_unit = 0;  // index into kUnits that the next part may use
    std::string_view rest = text;
    while (!rest.empty()) {
        std::int64_t value = 0;
        const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
        if (ec == std::errc::result_out_of_range) return bad(text, "value too large");
        if (ec != std::errc() || end == rest.data()) {
            return bad(text, "expected a number followed by s, m, h, d or w");
        }
        if (value < 0) return bad(text, "negative");
        rest.remove_prefix(static_cast<std::size_t>(end - rest.data()));
        if (rest.empty()) return bad(text, "missing unit (s, m, h, d or w)");
        const char symbol = rest.front();
        rest.remove_prefix(1);
        std::size_t index = next_unit;
        while (index < kUnits.size() && kUnits[index].symbol != symbol) ++index;
        if (index == kUnits.size()) {
            for (const auto& unit : kUnits) {
                if (unit.symbol == symbol) return bad(text, "units must go from largest to smallest, once each");
            }
            return bad(text, std::string("unknown unit '") + symbol + "' (use s, m, h, d or w)");
        }
        next_unit = index + 1;
        if (value > kMaxSeconds / kUnits[index].seconds) return bad(text, "value too large");
        total += value * kUnits[index].seconds;
        if (total > kMaxSeconds) return bad(text, "value too large");
    }
    return Duration(total);
}

std::string format_duration(Duration duration) {
    std::int64_t left = duration.count();
    if (left == 0) return "0s";
    std::string out;
    if (left < 0) {
        out.push_back('-');
        left = -left;
    }
    for (const auto& unit : kUnits) {
        if (unit.symbol == 'w') continue;  // "14d" reads better than "2w" in status output
        if (left >= unit.seconds) {
            out += std::to_string(left / unit.seconds);
            out.push_back(unit.symbol);
            left %= unit.seconds;
        }
    }
    return out;
}

}  // namespace patchwave
