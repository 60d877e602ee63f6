#include <catch2/catch.hpp>

#include "common/hex.hpp"
#include "rollout/bundle_meta.hpp"
#include "rollout/host_state.hpp"
#include "rollout/ids.hpp"

using namespace patchwave;
using namespace patchwave::rollout;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view kFullBundle = R"(name = "openssl-cve-2026-1234"
version = "3.0.22-1"
priority = "critical"
category = "security"
description = "Fixes CVE-2026-1234"
reboot = "required"
paths = ["/etc/ssl/openssl.cnf", "/usr/lib/x86_64-linux-gnu/libssl.so.3"]
install  = { command = "./install.sh",  timeout = "10m" }
verify   = { command = "./verify.sh",   timeout = "2m" }
rollback = { command = "./rollback.sh", timeout = "10m" }
precheck = { command = "./precheck.sh", timeout = "1m" }
)";

std::string parse_error(std::string_view text) {
    auto meta = BundleMeta::parse_toml(text, "bundle.toml");
    REQUIRE_FALSE(meta);
    CHECK(meta.error().is(Errc::parse));
    return meta.error().message();
}

const std::string kMinimal = "name = \"fix\"\nversion = \"1\"\ninstall = { command = \"./i.sh\" }\n";

}  // namespace

TEST_CASE("bundle.toml: the CLI.md example parses field by field", "[rollout]") {
    // Every field of the documented example lands in the struct with its value.
    auto meta = BundleMeta::parse_toml(kFullBundle, "bundle.toml");
    REQUIRE(meta);
    CHECK(meta->name == "openssl-cve-2026-1234");
    CHECK(meta->version == "3.0.22-1");
    CHECK(meta->priority == Priority::critical);
    CHECK(meta->category == Category::security);
    CHECK(meta->description == "Fixes CVE-2026-1234");
    CHECK(meta->reboot == RebootNeed::required);
    CHECK(meta->paths == std::vector<std::string>{"/etc/ssl/openssl.cnf", "/usr/lib/x86_64-linux-gnu/libssl.so.3"});
    CHECK(meta->install == BundleCommand{"./install.sh", 10min});
    CHECK(meta->verify == BundleCommand{"./verify.sh", 2min});
    CHECK(meta->rollback == BundleCommand{"./rollback.sh", 10min});
    CHECK(meta->precheck == BundleCommand{"./precheck.sh", 1min});
}

TEST_CASE("bundle.toml: defaults for optional fields", "[rollout]") {
    // priority normal, category bugfix, reboot none, no paths, install timeout 30m, optional commands absent.
    auto meta = BundleMeta::parse_toml(kMinimal, "bundle.toml");
    REQUIRE(meta);
    CHECK(meta->priority == Priority::normal);
    CHECK(meta->category == Category::bugfix);
    CHECK(meta->reboot == RebootNeed::none);
    CHECK(meta->description.empty());
    CHECK(meta->paths.empty());
    CHECK(meta->install.timeout == 30min);
    CHECK_FALSE(meta->verify);
    CHECK_FALSE(meta->rollback);
    CHECK_FALSE(meta->precheck);
    auto with_checks = BundleMeta::parse_toml(
        kMinimal + "verify = { command = \"v\" }\nprecheck = { command = \"p\" }\nrollback = { command = \"r\" }\n",
        "bundle.toml");
    REQUIRE(with_checks);
    CHECK(with_checks->verify->timeout == 5min);
    CHECK(with_checks->precheck->timeout == 5min);
    CHECK(with_checks->rollback->timeout == 30min);
}

TEST_CASE("bundle.toml: required keys are named when missing", "[rollout]") {
    // name, version and install are required; the table's line (1) is named.
    CHECK(parse_error("version = \"1\"\ninstall = { command = \"x\" }\n") ==
          "bundle.toml:1: missing required key \"name\"");
    CHECK(parse_error("name = \"a\"\ninstall = { command = \"x\" }\n") ==
          "bundle.toml:1: missing required key \"version\"");
    CHECK(parse_error("name = \"a\"\nversion = \"1\"\n") == "bundle.toml:1: missing required key \"install\"");
    CHECK(parse_error("name = \"a\"\nversion = \"1\"\ninstall = { timeout = \"1m\" }\n") ==
          "bundle.toml:3: install: missing required key \"command\"");
}

TEST_CASE("bundle.toml: enum values are validated with the choices listed", "[rollout]") {
    // A wrong priority, category or reboot names the allowed values at the value's line.
    CHECK(parse_error(kMinimal + "\npriority = \"urgent\"\n") ==
          "bundle.toml:5: priority \"urgent\" is not critical, high, normal or low");
    CHECK(parse_error(kMinimal + "category = \"misc\"\n") ==
          "bundle.toml:4: category \"misc\" is not security, bugfix, feature or config");
    CHECK(parse_error(kMinimal + "reboot = \"maybe\"\n") == "bundle.toml:4: reboot \"maybe\" is not none or required");
    CHECK(parse_error(kMinimal + "reboot = true\n") == "bundle.toml:4: reboot: expected a string, got a boolean");
}

TEST_CASE("bundle.toml: names and versions are plain tokens", "[rollout]") {
    // Spaces, slashes, leading punctuation and overlong names are refused.
    CHECK(parse_error("name = \"bad name\"\nversion = \"1\"\ninstall = { command = \"x\" }\n") ==
          "bundle.toml:1: name \"bad name\" is not 1-128 characters of [A-Za-z0-9._+-] starting with a letter or "
          "digit");
    CHECK(parse_error("name = \"a\"\nversion = \"-1\"\ninstall = { command = \"x\" }\n") ==
          "bundle.toml:2: version \"-1\" is not 1-64 characters of [A-Za-z0-9._+~:-] starting with a letter or digit");
    CHECK_FALSE(BundleMeta::parse_toml("name = \"" + std::string(129, 'a') + "\"\nversion = \"1\"\ninstall = { command = \"x\" }\n",
                                       "bundle.toml"));
    CHECK(BundleMeta::parse_toml("name = \"a\"\nversion = \"1:2.3~rc1+b2\"\ninstall = { command = \"x\" }\n",
                                 "bundle.toml"));
}

TEST_CASE("bundle.toml: paths must be absolute, normalized and unique", "[rollout]") {
    // Drift compares paths as strings, so only canonical absolute paths are accepted.
    CHECK(parse_error(kMinimal + "paths = [\"etc/ssl\"]\n") == "bundle.toml:4: paths[0] \"etc/ssl\" is not an absolute path");
    CHECK(parse_error(kMinimal + "paths = [\"/etc\", \"/etc/../root\"]\n") ==
          "bundle.toml:4: paths[1] \"/etc/../root\" is not normalized (no \".\" or \"..\" parts)");
    CHECK(parse_error(kMinimal + "paths = [\n  \"/etc//ssl\",\n]\n") ==
          "bundle.toml:5: paths[0] \"/etc//ssl\" is not normalized (no \"//\")");
    CHECK(parse_error(kMinimal + "paths = [\"/etc/\"]\n") == "bundle.toml:4: paths[0] \"/etc/\" is not normalized (no trailing \"/\")");
    CHECK(parse_error(kMinimal + "paths = [\"/a/./b\"]\n") ==
          "bundle.toml:4: paths[0] \"/a/./b\" is not normalized (no \".\" or \"..\" parts)");
    CHECK(parse_error(kMinimal + "paths = [\"/a\", \"/a\"]\n") == "bundle.toml:4: paths[1] \"/a\" is listed twice");
    CHECK(parse_error(kMinimal + "paths = \"/a\"\n") == "bundle.toml:4: paths: expected an array of strings, got a string");
    auto root = BundleMeta::parse_toml(kMinimal + "paths = [\"/\", \"/a.b/..c\"]\n", "bundle.toml");
    REQUIRE(root);
    CHECK(root->paths == std::vector<std::string>{"/", "/a.b/..c"});
}

TEST_CASE("bundle.toml: command tables are validated", "[rollout]") {
    // Empty commands, bad or zero timeouts and unknown keys inside a command table are errors.
    const std::string head = "name = \"a\"\nversion = \"1\"\n";
    CHECK(parse_error(head + "install = { command = \"\" }\n") == "bundle.toml:3: install: command is empty");
    CHECK(parse_error(head + "install = { command = \"x\", timeout = \"ten\" }\n") ==
          "bundle.toml:3: install: timeout \"ten\" is not a duration: expected a number followed by s, m, h, d or w");
    CHECK(parse_error(head + "install = { command = \"x\", timeout = \"0\" }\n") ==
          "bundle.toml:3: install: timeout \"0\" is not 1s-24h");
    CHECK(parse_error(head + "install = { command = \"x\", timeout = \"2d\" }\n") ==
          "bundle.toml:3: install: timeout \"2d\" is not 1s-24h");
    CHECK(parse_error(head + "install = { command = \"x\", timout = \"1m\" }\n") ==
          "bundle.toml:3: install: unknown key \"timout\"");
    CHECK(parse_error(head + "install = \"./install.sh\"\n") == "bundle.toml:3: install: expected a table, got a string");
    CHECK(parse_error(head + "install = { command = \"x\" }\n[verify]\ncommand = \"v\"\ntimeout = 5\n") ==
          "bundle.toml:6: verify: timeout: expected a string, got an integer");
}

TEST_CASE("bundle.toml: unknown top-level keys are errors", "[rollout]") {
    // A typo such as "reboots" must not silently fall back to the default.
    CHECK(parse_error(kMinimal + "reboots = \"required\"\n") == "bundle.toml:4: unknown key \"reboots\"");
}

TEST_CASE("bundle.toml: metadata digest is SHA-256 of the exact bytes", "[rollout]") {
    // Any byte change, even whitespace, changes the digest approvals sign.
    CHECK(to_hex(std::span<const std::uint8_t>(metadata_digest("abc"))) ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(metadata_digest(kFullBundle) != metadata_digest(std::string(kFullBundle) + " "));
}

TEST_CASE("enums: text forms round-trip and unknown text is refused", "[rollout]") {
    // Every enum value reads back from its own text; other words are invalid_argument.
    for (Priority value : {Priority::critical, Priority::high, Priority::normal, Priority::low}) {
        CHECK(*priority_from_string(to_string(value)) == value);
    }
    for (Category value : {Category::security, Category::bugfix, Category::feature, Category::config}) {
        CHECK(*category_from_string(to_string(value)) == value);
    }
    for (TriageStatus value : {TriageStatus::proceed, TriageStatus::hold, TriageStatus::cancelled}) {
        CHECK(*triage_status_from_string(to_string(value)) == value);
    }
    for (HostState state : kAllHostStates) CHECK(*host_state_from_string(to_string(state)) == state);
    CHECK(to_string(HostState::reboot_pending) == "reboot-pending");
    CHECK(triage_status_from_string("paused").error().message() == "\"paused\" is not proceed, hold or cancelled");
    CHECK(host_state_from_string("reboot_pending").error().is(Errc::invalid_argument));
}

TEST_CASE("ids: bundle ids are 64 hex, rollout ids and labels are plain names", "[rollout]") {
    // parse_bundle_id accepts either case and prints lower case; bad ids say why.
    const std::string upper(64, 'A');
    auto id = parse_bundle_id(upper);
    REQUIRE(id);
    CHECK(to_hex(*id) == std::string(64, 'a'));
    CHECK(short_hex(*id) == std::string(12, 'a'));
    CHECK(parse_bundle_id("abc").error().message() == "\"abc\" is not a bundle id (64 hex characters)");
    CHECK(parse_agent_id(std::string(64, 'g')).error().message() ==
          "\"" + std::string(64, 'g') + "\" is not an agent id (64 hex characters)");
    CHECK(is_valid_rollout_id("2026-11-B"));
    CHECK(is_valid_rollout_id(std::string(64, 'x')));
    CHECK_FALSE(is_valid_rollout_id(std::string(65, 'x')));
    CHECK_FALSE(is_valid_rollout_id("-lead"));
    CHECK_FALSE(is_valid_rollout_id("a b"));
    CHECK_FALSE(is_valid_rollout_id(""));
    CHECK(is_valid_label("ring"));
    CHECK(is_valid_label("_x.y-z"));
    CHECK_FALSE(is_valid_label(std::string(64, 'a')));
    CHECK_FALSE(is_valid_label("a=b"));
}
