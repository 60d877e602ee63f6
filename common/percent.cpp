#include "common/percent.hpp"

#include <cctype>

namespace patchwave {
namespace {
std::unexpected<Error> bad(std::string_view text, std::string_view why) {
    return fail(Errc::invalid_argument, "\"" + std::string(text) + "\" " + std::string(why));
}
}  // namespace

Result<Percent> parse_percent(std::string_view text) {
    if (text.empty() || text.back() != '%') return bad(text, "is not a percentage (write e.g. \"95%\")");
    std::string_view body = text.substr(0, text.size() - 1);
    std::uint64_t whole = 0;
    std::size_t i = 0;
    for (; i < body.size() && std::isdigit(static_cast<unsigned char>(body[i])); ++i) {
        whole = whole * 10 + static_cast<std::uint64_t>(body[i] - '0');
        if (whole > 100) return bad(text, "is not 0-100%");
    }
    if (i == 0) return bad(text, "is not a percentage (write e.g. \"95%\")");
    std::uint64_t hundredths = 0;
    if (i < body.size()) {
        if (body[i] != '.') return bad(text, "is not a percentage (write e.g. \"95%\")");
        ++i;
        std::size_t decimals = 0;
        for (; i < body.size() && std::isdigit(static_cast<unsigned char>(body[i])); ++i, ++decimals) {
            if (decimals == 2) return bad(text, "has more than two decimals");
            hundredths = hundredths * 10 + static_cast<std::uint64_t>(body[i] - '0');
        }
        if (decimals == 0 || i != body.size()) return bad(text, "is not a percentage (write e.g. \"99.5%\")");
        if (decimals == 1) hundredths *= 10;
    }
    const std::uint64_t basis_points = whole * 100 + hundredths;
    if (basis_points > 10000) return bad(text, "is not 0-100%");
    return Percent{static_cast<std::uint32_t>(basis_points)};
}

std::string format_percent(Percent percent) {
    std::string out = std::to_string(percent.basis_points / 100);
    const std::uint32_t hundredths = percent.basis_points % 100;
    if (hundredths != 0) {
        out.push_back('.');
        out.push_back(static_cast<char>('0' + hundredths / 10));
        if (hundredths % 10 != 0) out.push_back(static_cast<char>('0' + hundredths % 10));
    }
    out.push_back('%');
    return out;
}

}  // namespace patchwave
