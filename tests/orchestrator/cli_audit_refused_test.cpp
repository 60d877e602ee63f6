#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_fixture.hpp"
#include "orchestrator/home.hpp"
#include "orchestrator/host_registry.hpp"
#include "orchestrator/status_store.hpp"

using namespace patchwave;
using patchwave::testing::PatchwaveCli;

namespace {

const Timestamp kNow = parse_timestamp("2026-11-23T10:00:00Z").value();

// Stores a status for `host` (as serve would after gossip verified it) listing `refused`.
void report(PatchwaveCli& cli, const std::string& host, std::uint64_t sequence,
            std::vector<rollout::Refusal> refused) {
    auto home = orchestrator::Home::open(cli.home(), orchestrator::LockMode::exclusive);
    REQUIRE(home);
    auto hosts = orchestrator::known_hosts(home->db());
    REQUIRE(hosts);
    rollout::StatusRecord status;
    for (const auto& known : *hosts) {
        if (known.certificate.host == host) status.agent = known.certificate.agent_id();
    }
    REQUIRE(status.agent != rollout::AgentId{});
    status.sequence = sequence;
    status.boot_id = "boot";
    status.time = kNow;
    status.refused = std::move(refused);
    auto stored = orchestrator::store_status(home->db(), status, "envelope", kNow);
    REQUIRE(stored);
    CHECK(*stored);
}

rollout::Refusal refusal(std::string subject, std::string reason, std::uint32_t count = 1) {
    return {std::move(subject), std::move(reason), kNow - std::chrono::minutes(10), kNow - std::chrono::minutes(1),
            count};
}

}  // namespace

TEST_CASE("audit lists what hosts refused: the rollout's own with --rollout, the fleet's without", "[orchestrator][cli]") {
    // A forged manifest of r1 on web-01, an under-approved bundle of r1's under another rollout on db-01
    // (not targeted), and a forged rollout id on web-02.
    PatchwaveCli cli;
    cli.set_now("2026-11-23T10:00:00Z");
    cli.init();
    const std::string id = cli.create_bundle("demo-fix");
    for (int i = 1; i <= 2; ++i) {
        cli.ok({"bundle", "approve", id, "--key", (cli.home() / "keys" / ("approver-" + std::to_string(i) + ".key")).string(),
                "--change", "CHG-1"});
    }
    cli.enroll("web-01", {"ring=test"});
    cli.enroll("web-02", {"ring=prod"});
    cli.enroll("db-01", {"ring=lab"});
    cli.ok({"rollout", "publish", cli.write_rollout("r1", {id}).string()});
    report(cli, "web-01", 3, {refusal("manifest r1 v9", "manifest: release role: 0 of 1 required signatures", 4)});
    report(cli, "db-01", 1, {refusal("bundle " + id.substr(0, 12) + " of forged", "1 of 2 required approvals")});
    report(cli, "web-02", 2, {refusal("manifest forged v1", "manifest \"forged\" v1: expired at 2026-11-01T00:00:00Z")});

    auto own = nlohmann::json::parse(cli.ok({"audit", "--rollout", "r1", "--json"}));
    REQUIRE(own.size() == 1);
    REQUIRE(own[0]["refused"].size() == 2);
    CHECK(own[0]["refused"][0]["host"] == "db-01");
    CHECK(own[0]["refused"][0]["subject"] == "bundle " + id.substr(0, 12) + " of forged");
    const auto& forged = own[0]["refused"][1];
    CHECK(forged["host"] == "web-01");
    CHECK(forged["subject"] == "manifest r1 v9");
    CHECK(forged["reason"] == "manifest: release role: 0 of 1 required signatures");
    CHECK(forged["count"] == 4);
    CHECK(forged["first"] == "2026-11-23T09:50:00Z");
    CHECK(forged["last"] == "2026-11-23T09:59:00Z");
    CHECK(forged["agent"].get<std::string>().size() == 64);

    auto fleet = nlohmann::json::parse(cli.ok({"audit", "--json"}));
    REQUIRE(fleet.size() == 1);
    REQUIRE(fleet[0]["refused"].size() == 3);
    CHECK(fleet[0]["refused"][2]["host"] == "web-02");
    CHECK(fleet[0]["refused"][2]["subject"] == "manifest forged v1");

    const std::string own_text = cli.ok({"audit", "--rollout", "r1"});
    CHECK_THAT(own_text, Catch::Contains("\nrefused (2)\n"));
    CHECK_THAT(own_text, !Catch::Contains("manifest forged v1"));
    const std::string fleet_text = cli.ok({"audit"});
    CHECK_THAT(fleet_text, Catch::Contains("\nrefused, fleet-wide (3)\n"));
    CHECK_THAT(fleet_text, Catch::Contains("manifest forged v1"));
    CHECK_THAT(fleet_text, !Catch::Contains("\nrefused (")); // not repeated per rollout
}
