#include <catch2/catch.hpp>

#include "common/hex.hpp"

using namespace patchwave;

TEST_CASE("hex round-trips and accepts either case", "[common]") {
    // Ids print lower case; input in upper case is the same id.
    const std::vector<std::uint8_t> bytes{0x00, 0x7f, 0xab, 0xff};
    CHECK(to_hex(bytes) == "007fabff");
    CHECK(from_hex("007FABff").value() == bytes);
    CHECK(from_hex_fixed<4>("007fabff").value()[2] == 0xab);
}

TEST_CASE("bad hex is refused", "[common]") {
    // Odd length, non-hex characters and wrong fixed length are errors.
    CHECK(from_hex("abc").error().message() == "\"abc\" has an odd number of hex characters");
    CHECK(from_hex("zz").error().message() == "\"zz\" is not hexadecimal");
    CHECK(from_hex_fixed<2>("abcdef").error().message() == "\"abcdef\" is not 4 hex characters");
}
