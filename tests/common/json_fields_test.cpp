#include <catch2/catch.hpp>

#include "common/json_fields.hpp"

using namespace patchwave;

TEST_CASE("duplicate JSON keys are refused", "[common]") {
    // A document with two values for one key must not be read either way.
    auto parsed = parse_strict_json(R"({"version": 1, "version": 2})");
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().message() == "invalid JSON: duplicate key \"version\"");
    // Duplicates in nested objects too; equal keys in sibling objects are fine.
    CHECK_FALSE(parse_strict_json(R"({"a": {"x": 1, "x": 1}})"));
    CHECK(parse_strict_json(R"({"a": {"x": 1}, "b": {"x": 1}})"));
}

TEST_CASE("malformed and deeply nested JSON is refused", "[common]") {
    // Syntax errors and nesting bombs are parse errors, not crashes.
    CHECK(parse_strict_json("{").error().is(Errc::parse));
    CHECK(parse_strict_json(R"({"a": 1} trailing)").error().is(Errc::parse));
    std::string deep(100, '[');
    deep += std::string(100, ']');
    CHECK(parse_strict_json(deep).error().message() == "invalid JSON: nested deeper than 32 levels");
}

TEST_CASE("unknown and mistyped fields are named by path", "[common]") {
    // finish() names the first field nobody read; getters name type errors.
    auto json = parse_strict_json(R"({"threshold": "2", "treshold": 2, "n": -1})").value();
    auto fields = JsonFields::open(json, "roles.release").value();
    CHECK(fields.uint("threshold").error().message() == "roles.release.threshold: expected a non-negative integer");
    CHECK(fields.uint("n").error().message() == "roles.release.n: expected a non-negative integer");
    CHECK(fields.string("missing").error().message() == "roles.release.missing: missing");
    CHECK(fields.finish().error().message() == "roles.release.treshold: unknown field");
}

TEST_CASE("present fields are read with their types", "[common]") {
    // Getters return values; optional getters return nullopt for absent fields.
    auto json = parse_strict_json(R"({"s": "x", "u": 5, "b": true})").value();
    auto fields = JsonFields::open(json, "").value();
    CHECK(fields.string("s").value() == "x");
    CHECK(fields.uint("u").value() == 5);
    CHECK(fields.boolean("b").value());
    CHECK_FALSE(fields.optional_string("absent").value().has_value());
    CHECK(fields.finish().has_value());
    CHECK_FALSE(JsonFields::open(nlohmann::json::array(), "x"));
}
