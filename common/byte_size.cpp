#include "common/byte_size.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <limits>

namespace patchwave {
namespace {

struct Unit {
    std::string_view name;  // lower case
    std::uint64_t factor;
};
constexpr std::array<Unit, 9> kUnits{{{"b", 1},
                                      {"kb", 1000ULL},
                                      {"mb", 1000ULL * 1000},
                                      {"gb", 1000ULL * 1000 * 1000},
                                      {"tb", 1000ULL * 1000 * 1000 * 1000},
                                      {"kib", 1ULL << 10},
                                      {"mib", 1ULL << 20},
                                      {"gib", 1ULL << 30},
                                      {"tib", 1ULL << 40}}};

std::unexpected<Error> bad(std::string_view text, std::string_view what, std::string_view why) {
    return fail(Errc::invalid_argument, "\"" + std::string(text) + "\" is not a " +
                                            std::string(what) + ": " + std::string(why));
}

Result<std::uint64_t> parse_bytes(std::string_view text, std::string_view original,
                                  std::string_view what) {
    std::size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
    if (digits == 0) return bad(original, what, "expected a number, e.g. 512KB or 20MB/s");
    std::uint64_t whole = 0;
    if (std::from_chars(text.data(), text.data() + digits, whole).ec != std::errc()) {
        return bad(original, what, "value too large");
    }
    std::string_view rest = text.substr(digits);
    // A fractional part is kept as an exact decimal: numerator / 10^frac_digits.
    std::uint64_t frac = 0;
    std::uint64_t frac_scale = 1;
    if (!rest.empty() && rest.front() == '.') {
        rest.remove_prefix(1);
        std::size_t n = 0;
        while (n < rest.size() && std::isdigit(static_cast<unsigned char>(rest[n]))) {
            if (n < 6) {
                frac = frac * 10 + static_cast<std::uint64_t>(rest[n] - '0');
                frac_scale *= 10;
            }
            ++n;
        }
        if (n == 0) return bad(original, what, "expected digits after '.'");
        rest.remove_prefix(n);
    }
    std::string unit;
    for (char c : rest) unit.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (unit.empty()) {
        if (frac_scale != 1) return bad(original, what, "fractions need a unit, e.g. 1.5MB");
        return whole;
    }
    for (const auto& candidate : kUnits) {
        if (candidate.name != unit) continue;
        if (whole > std::numeric_limits<std::uint64_t>::max() / candidate.factor) {
            return bad(original, what, "value too large");
        }
        // factor <= 2^40 and frac < 10^6, so the product fits in 64 bits.
        return whole * candidate.factor + (frac * candidate.factor) / frac_scale;
    }
    return bad(original, what,
               "unknown unit \"" + std::string(rest) + "\" (use B, KB, MB, GB, KiB, MiB or GiB)");
}

}  // namespace

Result<std::uint64_t> parse_size(std::string_view text) {
    return parse_bytes(text, text, "size");
}

Result<std::uint64_t> parse_rate(std::string_view text) {
    std::string_view body = text;
    if (body.size() >= 2 && body.substr(body.size() - 2) == "/s") body.remove_suffix(2);
    return parse_bytes(body, text, "rate");
}

std::string format_size(std::uint64_t bytes) {
    static constexpr std::array<const char*, 5> kNames{"B", "KiB", "MiB", "GiB", "TiB"};
    if (bytes < 1024) return std::to_string(bytes) + " B";
    double value = static_cast<double>(bytes);
    std::size_t index = 0;
    while (value >= 1024.0 && index + 1 < kNames.size()) {
        value /= 1024.0;
        ++index;
    }
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.1f %s", value, kNames[index]);
    return buffer;
}

}  // namespace patchwave
