#include <catch2/catch.hpp>

#include "common/byte_size.hpp"

using namespace patchwave;

TEST_CASE("sizes use decimal and binary units", "[common]") {
    // KB/MB are powers of ten, KiB/MiB powers of two, units case-insensitive.
    CHECK(parse_size("512").value() == 512);
    CHECK(parse_size("512B").value() == 512);
    CHECK(parse_size("512KB").value() == 512000);
    CHECK(parse_size("4MiB").value() == 4 * 1024 * 1024);
    CHECK(parse_size("1.5MB").value() == 1500000);
    CHECK(parse_size("2gib").value() == 2ULL << 30);
    CHECK(parse_size("0").value() == 0);
}

TEST_CASE("rates accept an optional per-second suffix", "[common]") {
    // "20MB/s" and "20MB" are the same rate; "0" means no limit to callers.
    CHECK(parse_rate("20MB/s").value() == 20000000);
    CHECK(parse_rate("20MB").value() == 20000000);
    CHECK(parse_rate("0").value() == 0);
}

TEST_CASE("malformed sizes are refused with the reason", "[common]") {
    // Unknown units, fractions without units, overflow and garbage are bad values.
    auto unit = parse_size("12 parsecs");
    REQUIRE_FALSE(unit);
    CHECK(unit.error().message() == "\"12 parsecs\" is not a size: unknown unit \" parsecs\" (use B, KB, MB, GB, KiB, MiB or GiB)");
    auto frac = parse_size("1.5");
    REQUIRE_FALSE(frac);
    CHECK(frac.error().message() == "\"1.5\" is not a size: fractions need a unit, e.g. 1.5MB");
    auto big = parse_size("99999999999TiB");
    REQUIRE_FALSE(big);
    CHECK(big.error().message() == "\"99999999999TiB\" is not a size: value too large");
    auto rate = parse_rate("fast/s");
    REQUIRE_FALSE(rate);
    CHECK(rate.error().message() == "\"fast/s\" is not a rate: expected a number, e.g. 512KB or 20MB/s");
    CHECK_FALSE(parse_size(""));
    CHECK_FALSE(parse_size("1."));
}

TEST_CASE("sizes format in binary units", "[common]") {
    // The human form used in progress output.
    CHECK(format_size(512) == "512 B");
    CHECK(format_size(1536) == "1.5 KiB");
    CHECK(format_size(16ULL << 20) == "16.0 MiB");
}
