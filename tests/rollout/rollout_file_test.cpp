#include <catch2/catch.hpp>

#include "document_fixtures.hpp"
#include "rollout/manifest.hpp"

using namespace patchwave;
using namespace patchwave::rollout;
using namespace patchwave::rollout::testing;
using namespace std::chrono_literals;

namespace {

const std::string kIdA = std::string(64, 'a');
const std::string kIdB = "0123456789ABCDEF";

// The CLI.md example with real ids.
const std::string kExample = R"(name = "2026-11-B"
bundles = [")" + kIdA + R"(", ")" + kIdB + R"("]   # applied in this order, one reboot
emergency = false
not_before = "2026-11-24T01:00:00Z"       # optional
expires = "2026-12-24T00:00:00Z"
reboot_deadline = "48h"                   # after install, reboot happens by then
max_reboot_deferrals = 3

[[wave]]
name = "test"
select = { ring = "test" }                # labels from the agent certificate
success_threshold = "100%"                # installed / targeted needed to pass
failure_threshold = "0%"                  # failed / targeted that pauses the rollout
soak = "1h"                               # time after passing before the next wave opens
retries = 1                               # local retries of a failed step before reporting failed

[[wave]]
name = "canary"
select = { ring = "prod" }
percent = 5                               # stable hash share of the hosts not in an earlier wave
success_threshold = "95%"
failure_threshold = "2%"
soak = "4h"

[[wave]]
name = "rest"
select = { ring = "prod" }
)";

// Header lines 1-8, wave "test" 9-12 (as in the issue's example, the canary's
// success_threshold sits on line 14).
const std::string kHead = "name = \"2026-11-B\"\nbundles = [\"0123456789abcdef\"]\nexpires = \"2026-12-24T00:00:00Z\"\n\n"
                          "[[wave]]\nname = \"test\"\nselect = { ring = \"test\" }\nsoak = \"1h\"\n\n"
                          "[[wave]]\nname = \"canary\"\nselect = { ring = \"prod\" }\npercent = 5\n";

std::string parse_error(const std::string& text) {
    auto file = RolloutFile::parse_toml(text, "rollout.toml");
    REQUIRE_FALSE(file);
    CHECK(file.error().is(Errc::parse));
    return file.error().message();
}

}  // namespace

TEST_CASE("rollout.toml: the CLI.md example parses field by field", "[rollout]") {
    // Every field lands where it belongs; bundle ids are kept lower-case.
    auto file = RolloutFile::parse_toml(kExample, "rollout.toml");
    REQUIRE(file);
    CHECK(file->name == "2026-11-B");
    CHECK(file->bundles == std::vector<std::string>{kIdA, "0123456789abcdef"});
    CHECK_FALSE(file->emergency);
    CHECK(file->not_before == at("2026-11-24T01:00:00Z"));
    CHECK(file->expires == at("2026-12-24T00:00:00Z"));
    CHECK(file->reboot_deadline == 48h);
    CHECK(file->max_reboot_deferrals == 3);
    REQUIRE(file->waves.size() == 3);
    CHECK(file->waves[0] ==
          WaveSpec{"test", {{"ring", "test"}}, std::nullopt, Percent::whole(100), Percent::whole(0), 1h, 1});
    CHECK(file->waves[1] == WaveSpec{"canary", {{"ring", "prod"}}, 5, Percent{9500}, Percent{200}, 4h, 0});
    CHECK(file->waves[2] ==
          WaveSpec{"rest", {{"ring", "prod"}}, std::nullopt, Percent::whole(100), Percent::whole(0), 0s, 0});
}

TEST_CASE("rollout.toml: defaults for optional fields", "[rollout]") {
    // No not_before, emergency false, 48h deadline, 3 deferrals; waves default to 100%/0%/0s/0 retries.
    auto file = RolloutFile::parse_toml(
        "name = \"r1\"\nbundles = [\"abcdef01\"]\nexpires = 2026-12-24T00:00:00Z\n[[wave]]\nname = \"all\"\n",
        "rollout.toml");
    REQUIRE(file);
    CHECK_FALSE(file->not_before);
    CHECK_FALSE(file->emergency);
    CHECK(file->reboot_deadline == 48h);
    CHECK(file->max_reboot_deferrals == 3);
    REQUIRE(file->waves.size() == 1);
    CHECK(file->waves[0] == WaveSpec{"all", {}, std::nullopt, Percent::whole(100), Percent::whole(0), 0s, 0});
}

TEST_CASE("rollout.toml: a bad threshold names file, line, wave and field", "[rollout]") {
    // The example from the issue, to the character.
    CHECK(parse_error(kHead + "success_threshold = \"120%\"\n") ==
          "rollout.toml:14: wave \"canary\": success_threshold \"120%\" is not 0-100%");
    CHECK(parse_error(kHead + "failure_threshold = \"2\"\n") ==
          "rollout.toml:14: wave \"canary\": failure_threshold \"2\" is not a percentage (write e.g. \"95%\")");
    CHECK(parse_error(kHead + "success_threshold = 95\n") ==
          "rollout.toml:14: wave \"canary\": success_threshold: expected a string, got an integer");
}

TEST_CASE("rollout.toml: wave fields are range-checked", "[rollout]") {
    // percent 1-100, retries 0-10, soak a duration, select of valid labels.
    CHECK(parse_error(kHead + "retries = 11\n") == "rollout.toml:14: wave \"canary\": retries 11 is not 0-10");
    CHECK(parse_error(kHead + "retries = -1\n") == "rollout.toml:14: wave \"canary\": retries -1 is not 0-10");
    CHECK(parse_error(kHead + "soak = \"4 hours\"\n") ==
          "rollout.toml:14: wave \"canary\": soak \"4 hours\" is not a duration: unknown unit ' ' (use s, m, h, d or w)");
    std::string zero = kHead;
    zero.replace(zero.find("percent = 5"), 11, "percent = 0");
    CHECK(parse_error(zero) == "rollout.toml:13: wave \"canary\": percent 0 is not 1-100");
    std::string big = kHead;
    big.replace(big.find("percent = 5"), 11, "percent = 101");
    CHECK(parse_error(big) == "rollout.toml:13: wave \"canary\": percent 101 is not 1-100");
    std::string bad_label = kHead;
    bad_label.replace(bad_label.find("{ ring = \"prod\" }"), 17, "{ ring = \"prod east\" }");
    CHECK(parse_error(bad_label) ==
          "rollout.toml:12: wave \"canary\": select.ring \"prod east\" is not 1-63 characters of [A-Za-z0-9._-]");
    std::string int_label = kHead;
    int_label.replace(int_label.find("{ ring = \"prod\" }"), 17, "{ ring = 1 }");
    CHECK(parse_error(int_label) == "rollout.toml:12: wave \"canary\": select.ring: expected a string, got an integer");
}

TEST_CASE("rollout.toml: unknown keys are errors, in waves and at the top", "[rollout]") {
    // A misspelt threshold must not silently fall back to 100%.
    CHECK(parse_error(kHead + "sucess_threshold = \"95%\"\n") ==
          "rollout.toml:14: wave \"canary\": unknown key \"sucess_threshold\"");
    CHECK(parse_error("emergancy = true\n" + kHead) == "rollout.toml:1: unknown key \"emergancy\"");
}

TEST_CASE("rollout.toml: wave names are required, valid and unique", "[rollout]") {
    // A wave without a name is named by its position; a duplicate points at the first one.
    CHECK(parse_error(kHead + "\n[[wave]]\nselect = {}\n") == "rollout.toml:15: wave #3: missing required key \"name\"");
    CHECK(parse_error(kHead + "\n[[wave]]\nname = \"test\"\n") ==
          "rollout.toml:16: wave #3: name \"test\" is already used by the wave at line 5");
    CHECK(parse_error(kHead + "\n[[wave]]\nname = \"the rest\"\n") ==
          "rollout.toml:16: wave #3: name \"the rest\" is not 1-64 characters of [A-Za-z0-9._-] starting with a "
          "letter or digit");
}

TEST_CASE("rollout.toml: waves must exist and be an array of tables", "[rollout]") {
    // No [[wave]] at all, an empty list, or a single [wave] table are errors.
    const std::string head = "name = \"r\"\nbundles = [\"abcdef01\"]\nexpires = \"2026-12-24T00:00:00Z\"\n";
    CHECK(parse_error(head) == "rollout.toml:1: missing required key \"wave\"");
    CHECK(parse_error(head + "wave = []\n") == "rollout.toml:4: wave is empty: define at least one [[wave]]");
    CHECK(parse_error(head + "[wave]\nname = \"a\"\n") ==
          "rollout.toml:4: wave: expected an array of tables ([[wave]]), got a table");
    std::string many = head;
    for (int i = 0; i < 33; ++i) many += "[[wave]]\nname = \"w" + std::to_string(i) + "\"\n";
    CHECK(parse_error(many) == "rollout.toml:4: wave has 33 entries, more than 32");
}

TEST_CASE("rollout.toml: bundles are 8-64 hex characters, unique, non-empty", "[rollout]") {
    // Short, non-hex, repeated and overlapping prefixes are refused at the element's line.
    const std::string tail = "expires = \"2026-12-24T00:00:00Z\"\n[[wave]]\nname = \"a\"\n";
    CHECK(parse_error("name = \"r\"\nbundles = []\n" + tail) ==
          "rollout.toml:2: bundles is empty: name at least one bundle id");
    CHECK(parse_error("name = \"r\"\nbundles = [\"abc\"]\n" + tail) ==
          "rollout.toml:2: bundles[0] \"abc\" is not a bundle id or id prefix (8-64 hex characters)");
    CHECK(parse_error("name = \"r\"\nbundles = [\n\"abcdef01\",\n\"zzzzzzzz\"]\n" + tail) ==
          "rollout.toml:4: bundles[1] \"zzzzzzzz\" is not a bundle id or id prefix (8-64 hex characters)");
    CHECK(parse_error("name = \"r\"\nbundles = [\"abcdef01\", \"ABCDEF01\"]\n" + tail) ==
          "rollout.toml:2: bundles[1] \"ABCDEF01\" repeats bundles[0]");
    CHECK(parse_error("name = \"r\"\nbundles = [\"abcdef0123\", \"abcdef01\"]\n" + tail) ==
          "rollout.toml:2: bundles[1] \"abcdef01\" repeats bundles[0]");
    CHECK(parse_error("name = \"r\"\nbundles = \"abcdef01\"\n" + tail) ==
          "rollout.toml:2: bundles: expected an array of strings, got a string");
    std::string many = "name = \"r\"\nbundles = [";
    for (int i = 0; i < 65; ++i) many += (i ? ", \"" : "\"") + std::string("abcdef") + (i < 10 ? "0" : "") + std::to_string(i) + "\"";
    CHECK(parse_error(many + "]\n" + tail) == "rollout.toml:2: bundles has 65 entries, more than 64");
}

TEST_CASE("rollout.toml: name, times and limits of the rollout", "[rollout]") {
    // Bad rollout ids, missing or inverted times and out-of-range deferrals are refused.
    const std::string waves = "[[wave]]\nname = \"a\"\n";
    CHECK(parse_error("name = \"2026 11\"\nbundles = [\"abcdef01\"]\nexpires = \"2026-12-24T00:00:00Z\"\n" + waves) ==
          "rollout.toml:1: name \"2026 11\" is not a valid rollout id (1-64 characters of [A-Za-z0-9._-], "
          "starting with a letter or digit)");
    CHECK(parse_error("name = \"r\"\nbundles = [\"abcdef01\"]\n" + waves) == "rollout.toml:1: missing required key \"expires\"");
    CHECK(parse_error("name = \"r\"\nbundles = [\"abcdef01\"]\nnot_before = \"2026-12-24T00:00:00Z\"\n"
                      "expires = \"2026-12-24T00:00:00Z\"\n" + waves) ==
          "rollout.toml:4: expires 2026-12-24T00:00:00Z is not after not_before 2026-12-24T00:00:00Z");
    CHECK(parse_error("name = \"r\"\nbundles = [\"abcdef01\"]\nexpires = \"2026-12-24T00:00:00Z\"\n"
                      "max_reboot_deferrals = 101\n" + waves) ==
          "rollout.toml:4: max_reboot_deferrals 101 is not 0-100");
    CHECK(parse_error("name = \"r\"\nbundles = [\"abcdef01\"]\nexpires = \"2026-12-24T00:00:00Z\"\n"
                      "reboot_deadline = \"two days\"\n" + waves) ==
          "rollout.toml:4: reboot_deadline \"two days\" is not a duration: expected a number followed by s, m, h, d or w");
    CHECK(parse_error("name = \"r\"\nbundles = [\"abcdef01\"]\nexpires = \"2026-12-24T00:00:00Z\"\n"
                      "emergency = \"yes\"\n" + waves) ==
          "rollout.toml:4: emergency: expected true or false, got a string");
}
