#include <catch2/catch.hpp>

#include "common/timestamp.hpp"

using namespace patchwave;
using namespace std::chrono;

TEST_CASE("RFC 3339 times parse to UTC seconds", "[common]") {
    // Z, offsets, lower case and fractions all denote the same instant.
    const Timestamp expected = sys_days{2026y / November / 24} + 1h;
    CHECK(parse_timestamp("2026-11-24T01:00:00Z").value() == expected);
    CHECK(parse_timestamp("2026-11-24t01:00:00z").value() == expected);
    CHECK(parse_timestamp("2026-11-24T02:00:00+01:00").value() == expected);
    CHECK(parse_timestamp("2026-11-23T20:30:00-04:30").value() == expected);
    CHECK(parse_timestamp("2026-11-24T01:00:00.999Z").value() == expected);
    CHECK(parse_timestamp("2028-02-29T00:00:00Z").has_value());
}

TEST_CASE("malformed or impossible times are refused", "[common]") {
    // Shape, calendar and clock errors each say what is wrong.
    CHECK(parse_timestamp("2026-11-24").error().message() ==
          "\"2026-11-24\" is not an RFC 3339 time: expected YYYY-MM-DDTHH:MM:SSZ");
    CHECK(parse_timestamp("2026-11-24T01:00:00").error().message() ==
          "\"2026-11-24T01:00:00\" is not an RFC 3339 time: missing UTC offset (add Z or +HH:MM)");
    CHECK(parse_timestamp("2026-02-30T01:00:00Z").error().message() ==
          "\"2026-02-30T01:00:00Z\" is not an RFC 3339 time: no such date");
    CHECK(parse_timestamp("2026-11-24T24:00:00Z").error().message() ==
          "\"2026-11-24T24:00:00Z\" is not an RFC 3339 time: no such time of day");
    CHECK(parse_timestamp("2026-12-31T23:59:60Z").error().message() ==
          "\"2026-12-31T23:59:60Z\" is not an RFC 3339 time: seconds must be 00-59 (leap seconds are not accepted)");
    CHECK_FALSE(parse_timestamp("2026-11-24T01:00:00Zjunk"));
    CHECK_FALSE(parse_timestamp("2026-11-24T01:00:00+1:00"));
    CHECK_FALSE(parse_timestamp("2027-02-29T00:00:00Z"));
}

TEST_CASE("formatted times read back exactly", "[common]") {
    // format_timestamp writes the canonical Z form.
    const Timestamp t = sys_days{2026y / March / 5} + 7h + 8min + 9s;
    CHECK(format_timestamp(t) == "2026-03-05T07:08:09Z");
    CHECK(parse_timestamp(format_timestamp(t)).value() == t);
}
