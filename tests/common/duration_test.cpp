#include <catch2/catch.hpp>

#include "common/duration.hpp"

using namespace patchwave;
using namespace std::chrono_literals;

TEST_CASE("durations parse in every unit and in combination", "[common]") {
    // Each unit and a combined form read as the seconds an operator means.
    CHECK(parse_duration("90s").value() == 90s);
    CHECK(parse_duration("10m").value() == 10min);
    CHECK(parse_duration("4h").value() == 4h);
    CHECK(parse_duration("2d").value() == 48h);
    CHECK(parse_duration("1w").value() == 168h);
    CHECK(parse_duration("1h30m").value() == 90min);
    CHECK(parse_duration("0").value() == 0s);
    CHECK(parse_duration("0s").value() == 0s);
}

TEST_CASE("malformed durations are refused with the reason", "[common]") {
    // Every refusal names the input and says why, and is a bad value (exit 2).
    const auto check = [](std::string_view text, std::string_view why) {
        auto parsed = parse_duration(text);
        REQUIRE_FALSE(parsed);
        CHECK(parsed.error().is(Errc::invalid_argument));
        CHECK(parsed.error().message() == "\"" + std::string(text) + "\" is not a duration: " + std::string(why));
    };
    check("", "empty (use e.g. 90s, 10m, 4h, 2d)");
    check("10", "missing unit (s, m, h, d or w)");
    check("10x", "unknown unit 'x' (use s, m, h, d or w)");
    check("-5m", "negative");
    check("+5m", "expected a number followed by s, m, h, d or w");
    check("m", "expected a number followed by s, m, h, d or w");
    check("30m1h", "units must go from largest to smallest, once each");
    check("1h1h", "units must go from largest to smallest, once each");
    check("99999999999999999999s", "value too large");
    check("999999d", "value too large");
}

TEST_CASE("formatted durations read back to the same value", "[common]") {
    // format_duration is the inverse of parse_duration for display.
    for (auto seconds : {0L, 1L, 59L, 60L, 90L, 3600L, 5400L, 86400L, 90061L, 1209600L}) {
        const Duration d{seconds};
        CHECK(parse_duration(format_duration(d)).value() == d);
    }
    CHECK(format_duration(5400s) == "1h30m");
    CHECK(format_duration(0s) == "0s");
    CHECK(format_duration(1209600s) == "14d");
}
