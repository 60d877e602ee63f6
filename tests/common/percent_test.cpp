#include <catch2/catch.hpp>

#include "common/percent.hpp"

using namespace patchwave;

TEST_CASE("percentages parse to exact basis points", "[common]") {
    // Up to two decimals, 0-100 inclusive, the '%' required.
    CHECK(parse_percent("95%").value().basis_points == 9500);
    CHECK(parse_percent("0%").value().basis_points == 0);
    CHECK(parse_percent("100%").value().basis_points == 10000);
    CHECK(parse_percent("99.5%").value().basis_points == 9950);
    CHECK(parse_percent("12.25%").value().basis_points == 1225);
}

TEST_CASE("out-of-range and malformed percentages are refused", "[common]") {
    // The message is what rollout.toml errors quote after the field name.
    CHECK(parse_percent("120%").error().message() == "\"120%\" is not 0-100%");
    CHECK(parse_percent("100.01%").error().message() == "\"100.01%\" is not 0-100%");
    CHECK(parse_percent("95").error().message() == "\"95\" is not a percentage (write e.g. \"95%\")");
    CHECK(parse_percent("9.999%").error().message() == "\"9.999%\" has more than two decimals");
    CHECK_FALSE(parse_percent("-1%"));
    CHECK_FALSE(parse_percent("%"));
    CHECK_FALSE(parse_percent("5.%"));
    CHECK_FALSE(parse_percent("5x%"));
}

TEST_CASE("thresholds compare exactly without rounding", "[common]") {
    // 19 of 20 is exactly 95%: it reaches 95% and does not exceed it.
    const Percent p = parse_percent("95%").value();
    CHECK(p.reached_by(19, 20));
    CHECK_FALSE(p.reached_by(18, 20));
    CHECK_FALSE(p.exceeded_by(19, 20));
    CHECK(p.exceeded_by(20, 20));
    // An empty population reaches any share and exceeds none.
    CHECK(p.reached_by(0, 0));
    CHECK_FALSE(Percent{0}.exceeded_by(0, 0));
    // Zero failure tolerance: one failure exceeds it.
    CHECK(Percent{0}.exceeded_by(1, 1000));
}

TEST_CASE("percentages format back to what parses", "[common]") {
    // Round trip for display.
    for (std::string text : {"0%", "5%", "95%", "99.5%", "12.25%", "100%"}) {
        CHECK(format_percent(parse_percent(text).value()) == text);
    }
}
