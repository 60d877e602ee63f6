#include <catch2/catch.hpp>

#include "rollout/toml_fields.hpp"

using namespace patchwave;
using namespace patchwave::rollout;
using namespace std::chrono_literals;

namespace {

TomlFields parse_ok(std::string_view text) {
    auto fields = TomlFields::parse(text, "test.toml");
    REQUIRE(fields);
    return *fields;
}

std::string error_of(const Error& error) {
    CHECK(error.is(Errc::parse));
    return error.message();
}

}  // namespace

TEST_CASE("toml: typed getters read present keys and defaults stay absent", "[rollout]") {
    // Every getter returns the written value; optional getters give nullopt for absent keys.
    auto fields = parse_ok(
        "name = \"x\"\ncount = 7\nflag = true\nwait = \"1h30m\"\nshare = \"99.5%\"\nlimit = \"20MB/s\"\n"
        "size = \"4KiB\"\nwhen = \"2026-11-24T01:00:00Z\"\nnative = 2026-11-24T02:00:00+01:00\n"
        "list = [\"a\", \"b\"]\nmap = { ring = \"test\", zone = \"eu\" }\n");
    CHECK(*fields.string("name") == "x");
    CHECK(*fields.integer("count", 0, 10) == 7);
    CHECK(*fields.boolean("flag"));
    CHECK(*fields.duration("wait") == 5400s);
    CHECK(fields.percent("share")->basis_points == 9950);
    CHECK(*fields.rate("limit") == 20'000'000);
    CHECK(*fields.size("size") == 4096);
    CHECK(format_timestamp(*fields.timestamp("when")) == "2026-11-24T01:00:00Z");
    CHECK(format_timestamp(*fields.timestamp("native")) == "2026-11-24T01:00:00Z");
    CHECK(*fields.string_array("list") == std::vector<std::string>{"a", "b"});
    CHECK(*fields.string_map("map") == std::map<std::string, std::string>{{"ring", "test"}, {"zone", "eu"}});
    CHECK_FALSE(fields.optional_string("absent")->has_value());
    CHECK_FALSE(fields.optional_duration("absent2")->has_value());
    CHECK(fields.finish());
}

TEST_CASE("toml: a syntax error names file and line", "[rollout]") {
    // TOML++'s own parse errors are prefixed with FILE:LINE.
    auto fields = TomlFields::parse("a = 1\nb = = 2\n", "test.toml");
    REQUIRE_FALSE(fields);
    CHECK(fields.error().is(Errc::parse));
    CHECK_THAT(fields.error().message(), Catch::StartsWith("test.toml:2: "));
}

TEST_CASE("toml: a duplicate key is a syntax error", "[rollout]") {
    // TOML forbids redefining a key; the second definition's line is named.
    auto fields = TomlFields::parse("a = 1\n\na = 2\n", "test.toml");
    REQUIRE_FALSE(fields);
    CHECK_THAT(fields.error().message(), Catch::StartsWith("test.toml:3: "));
}

TEST_CASE("toml: an unknown key is refused at its line", "[rollout]") {
    // finish() names the first key nobody asked for, in file order.
    auto fields = parse_ok("name = \"x\"\nzeta = 1\nalpha = 2\n");
    REQUIRE(fields.string("name"));
    auto done = fields.finish();
    REQUIRE_FALSE(done);
    CHECK(error_of(done.error()) == "test.toml:2: unknown key \"zeta\"");
}

TEST_CASE("toml: a missing key is reported at the table's line", "[rollout]") {
    // A required key that is absent points at the table header, with the table's context.
    auto root = parse_ok("top = 1\n\n[section]\nother = 2\n");
    auto section = root.table("section");
    REQUIRE(section);
    CHECK(section->context() == "section");
    auto name = section->string("name");
    REQUIRE_FALSE(name);
    CHECK(error_of(name.error()) == "test.toml:3: section: missing required key \"name\"");
}

TEST_CASE("toml: wrong types name the key, what was expected and what was found", "[rollout]") {
    // A string where an integer belongs (and the like) is an error at the value's line.
    auto fields = parse_ok("a = \"5\"\nb = 5\nc = 1.5\nd = [1]\ne = 2026-11-24\nf = \"x\"\n");
    CHECK(error_of(fields.integer("a").error()) == "test.toml:1: a: expected an integer, got a string");
    CHECK(error_of(fields.string("b").error()) == "test.toml:2: b: expected a string, got an integer");
    CHECK(error_of(fields.boolean("c").error()) == "test.toml:3: c: expected true or false, got a float");
    CHECK(error_of(fields.string_array("d").error()) == "test.toml:4: d[0]: expected a string, got an integer");
    CHECK(error_of(fields.timestamp("e").error()) ==
          "test.toml:5: e: expected an RFC 3339 time like \"2026-11-24T01:00:00Z\", got a date");
    CHECK(error_of(fields.table("f").error()) == "test.toml:6: f: expected a table, got a string");
}

TEST_CASE("toml: value parser errors read KEY \"value\" why", "[rollout]") {
    // common/ parser messages start with the quoted value; the key is put in front.
    auto fields = parse_ok("p = \"120%\"\nd = \"10x\"\nt = \"yesterday\"\nn = 11\n");
    CHECK(error_of(fields.percent("p").error()) == "test.toml:1: p \"120%\" is not 0-100%");
    CHECK_THAT(error_of(fields.duration("d").error()), Catch::StartsWith("test.toml:2: d \"10x\" is not a duration"));
    CHECK_THAT(error_of(fields.timestamp("t").error()),
               Catch::StartsWith("test.toml:3: t \"yesterday\" is not an RFC 3339 time"));
    CHECK(error_of(fields.integer("n", 0, 10).error()) == "test.toml:4: n 11 is not 0-10");
    CHECK(error_of(fields.integer("n", 20).error()) == "test.toml:4: n 11 is below 20");
}

TEST_CASE("toml: a local date-time without offset is refused", "[rollout]") {
    // Fleet times need a zone; a TOML local date-time is ambiguous.
    auto fields = parse_ok("t = 2026-11-24T01:00:00\n");
    CHECK(error_of(fields.timestamp("t").error()) ==
          "test.toml:1: t 2026-11-24T01:00:00 has no time zone offset (write e.g. 2026-11-24T01:00:00Z)");
}

TEST_CASE("toml: table arrays get numbered contexts that callers can rename", "[rollout]") {
    // [[wave]] entries are readers of their own, with line numbers of their headers.
    auto root = parse_ok("x = 1\n[[wave]]\nname = \"a\"\n\n[[wave]]\nname = \"b\"\nbad = 1\n");
    auto waves = root.table_array("wave");
    REQUIRE(waves);
    REQUIRE(waves->size() == 2);
    CHECK((*waves)[0].context() == "wave #1");
    CHECK((*waves)[1].line() == 5);
    REQUIRE((*waves)[1].string("name"));
    (*waves)[1].set_context("wave \"b\"");
    CHECK(error_of((*waves)[1].finish().error()) == "test.toml:7: wave \"b\": unknown key \"bad\"");
    auto not_array = root.table_array("x");
    CHECK(error_of(not_array.error()) == "test.toml:1: x: expected an array of tables ([[x]]), got an integer");
}

TEST_CASE("toml: string maps refuse non-string values at their line", "[rollout]") {
    // select = { ring = 1 } is an error naming select.ring.
    auto fields = parse_ok("\nselect = { ring = 1 }\n");
    CHECK(error_of(fields.string_map("select").error()) == "test.toml:2: select.ring: expected a string, got an integer");
}

TEST_CASE("toml: located strings carry their element lines", "[rollout]") {
    // Callers validating list elements can point at the exact line.
    auto fields = parse_ok("list = [\n  \"a\",\n  \"b\",\n]\n");
    auto list = fields.located_string_array("list");
    REQUIRE(list);
    REQUIRE(list->size() == 2);
    CHECK((*list)[0] == TomlString{"a", 2});
    CHECK((*list)[1] == TomlString{"b", 3});
    CHECK(fields.error_at_line(3, "bad").message() == "test.toml:3: bad");
}

TEST_CASE("toml: parsed() applies a caller's parser with the key in front", "[rollout]") {
    // Enum-like fields reuse the same message shape as the built-in parsers.
    auto fields = parse_ok("mode = \"loud\"\n");
    auto parse_mode = [](std::string_view text) -> Result<int> {
        if (text == "quiet") return 1;
        return fail(Errc::invalid_argument, "\"" + std::string(text) + "\" is not quiet");
    };
    CHECK(error_of(fields.parsed("mode", parse_mode).error()) == "test.toml:1: mode \"loud\" is not quiet");
    CHECK_FALSE(fields.optional_parsed("other", parse_mode)->has_value());
}

TEST_CASE("toml: an oversized document is refused before parsing", "[rollout]") {
    // The cap keeps a hostile file from costing memory and time.
    const std::string huge(TomlFields::kMaxDocumentSize + 1, '#');
    auto fields = TomlFields::parse(huge, "big.toml");
    REQUIRE_FALSE(fields);
    CHECK(fields.error().message() == "big.toml: 1048577 bytes is more than the 1024 KiB a TOML file may have");
}

TEST_CASE("toml: nested tables chain their context", "[rollout]") {
    // [agent] then a sub-table: errors read "agent.limits: ...".
    auto root = parse_ok("[agent]\n[agent.limits]\nx = \"y\"\n");
    auto agent = root.table("agent");
    REQUIRE(agent);
    auto limits = agent->table("limits");
    REQUIRE(limits);
    CHECK(limits->context() == "agent.limits");
    CHECK(error_of(limits->integer("x").error()) == "test.toml:3: agent.limits: x: expected an integer, got a string");
}
