// Drift with real processes: a tracked file edited after the install is a
// finding (path, expected and actual digests) until it is restored; watched
// paths from agent.toml are tracked the same way; findings reach status and the origin.
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "agent_harness.hpp"
#include "common/file_io.hpp"
#include "crypto/sha256.hpp"
#include "rollout/status_record.hpp"
#include "support/temp_dir.hpp"

using namespace patchwave;
using namespace patchwave::testing;
using namespace std::chrono_literals;
using rollout::HostState;

namespace {

FleetFixtureOptions at_ip(std::uint8_t first_ip) {
    FleetFixtureOptions options;
    options.first_ip = first_ip;
    return options;
}

std::string digest_of(const std::string& content) {
    return crypto::digest_hex(crypto::sha256(content));
}

void write_text(const std::filesystem::path& path, const std::string& content) {
    std::filesystem::create_directories(path.parent_path());
    REQUIRE(write_file_atomic(path, content, 0644));
}

std::optional<rollout::DriftFinding> finding_for(const agent::JournalState& journal, const std::string& path) {
    for (const auto& finding : journal.drift)
        if (finding.path == path) return finding;
    return std::nullopt;
}

std::string read_text(const std::filesystem::path& path) {
    auto text = read_file(path, 1 << 20);
    return text ? *text : std::string("(missing)");
}

}  // namespace

TEST_CASE("drift in a tracked or watched file is found and clears when restored", "[agent-process][drift]") {
    TempDir temp;
    FleetFixture fleet(temp.path() / "fleet", at_ip(120));
    AgentSpec spec;
    spec.extra["drift"] = {"interval = \"1s\"", "watch = [\"/etc/ssh/sshd_config\"]"};
    const FixtureAgent& agent = fleet.add_agent(spec);
    const std::string watched_content = "PermitRootLogin no\n";
    write_text(agent.sandbox("etc/ssh/sshd_config"), watched_content);
    BundleSpec bundle_spec;
    bundle_spec.name = "openssh";
    bundle_spec.version = "9.8p1";
    const FixtureBundle& bundle = fleet.add_bundle(bundle_spec);
    fleet.write_manifest(fleet.make_manifest("ssh", {&bundle}));

    AgentHarness harness(fleet);
    harness.start_origin();
    harness.start_agent(agent);
    REQUIRE_STATE(harness, agent, "ssh", bundle.id(), HostState::installed, 60s);
    const std::string installed = digest_of("9.8p1\n");
    const std::string tracked = "/opt/openssh/VERSION";
    const std::string watched = "/etc/ssh/sshd_config";
    {
        // Both are in the baseline, with what is on disk now; no drift yet.
        const auto journal = harness.journal(agent);
        INFO(harness.describe(agent));
        bool tracked_ok = false;
        bool watched_ok = false;
        for (const auto& path : journal.baseline) {
            if (path.path == tracked) tracked_ok = path.digest == installed && path.bundle == bundle.id();
            if (path.path == watched) watched_ok = path.digest == digest_of(watched_content) && !path.bundle;
        }
        CHECK(tracked_ok);
        CHECK(watched_ok);
        CHECK(journal.drift.empty());
    }

    // Someone edits the installed file.
    write_text(agent.sandbox("opt/openssh/VERSION"), "9.7p1-local\n");
    if (!eventually([&] { return finding_for(harness.journal(agent), tracked).has_value(); }, 10s))
        FAIL("the edit was not found\n" << harness.describe(agent));
    {
        const auto finding = *finding_for(harness.journal(agent), tracked);
        CHECK(finding.expected == installed);
        CHECK(finding.actual == digest_of("9.7p1-local\n"));
        CHECK(finding.bundle == bundle.id());
        CHECK(harness.journal(agent).drift.size() == 1);
    }
    // It shows in `status` and in the signed status record the origin receives.
    {
        auto status = harness.cli(agent, {"status", "--json"});
        REQUIRE(status.exit_code == 0);
        auto view = nlohmann::json::parse(status.out, nullptr, false);
        REQUIRE(view.is_object());
        REQUIRE(view["drift"].size() == 1);
        CHECK(view["drift"][0]["path"] == tracked);
        CHECK(view["drift"][0]["actual"] == digest_of("9.7p1-local\n"));
    }
    const auto status_file = fleet.origin_status_dir() / (rollout::to_hex(agent.id) + ".json");
    CHECK(eventually(
        [&] {
            auto status = rollout::StatusRecord::parse_json(read_text(status_file));
            return status && status->drift.size() == 1 && status->drift[0].path == tracked
                   && status->drift[0].expected == installed;
        },
        15s));

    // Restored: the finding goes away.
    write_text(agent.sandbox("opt/openssh/VERSION"), "9.8p1\n");
    if (!eventually([&] { return harness.journal(agent).drift.empty(); }, 10s))
        FAIL("the finding stayed after the restore\n" << harness.describe(agent));

    // A watched path changed later is drift too (no bundle explains it).
    write_text(agent.sandbox("etc/ssh/sshd_config"), "PermitRootLogin yes\n");
    if (!eventually([&] { return finding_for(harness.journal(agent), watched).has_value(); }, 10s))
        FAIL("the watched path change was not found\n" << harness.describe(agent));
    const auto finding = *finding_for(harness.journal(agent), watched);
    CHECK(finding.expected == digest_of(watched_content));
    CHECK(finding.actual == digest_of("PermitRootLogin yes\n"));
    CHECK_FALSE(finding.bundle.has_value());

    // Removing it is drift as well ("absent"), and the finding survives a restart.
    std::filesystem::remove(agent.sandbox("etc/ssh/sshd_config"));
    CHECK(eventually(
        [&] {
            auto found = finding_for(harness.journal(agent), watched);
            return found && found->actual == agent::kAbsent;
        },
        10s));
    harness.stop_agent(agent);
    harness.start_agent(agent);
    std::this_thread::sleep_for(2s);
    CHECK(finding_for(harness.journal(agent), watched).has_value());
    CHECK_FALSE(finding_for(harness.journal(agent), tracked).has_value());
}
