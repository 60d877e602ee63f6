#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_fixture.hpp"

using patchwave::testing::PatchwaveCli;

namespace {

// A home with one bundle approved by `approvals` approvers and two enrolled hosts.
std::string prepared(PatchwaveCli& cli, int approvals) {
    cli.init();
    const std::string id = cli.create_bundle("demo-fix");
    for (int i = 1; i <= approvals; ++i) {
        cli.ok({"bundle", "approve", id, "--key", (cli.home() / "keys" / ("approver-" + std::to_string(i) + ".key")).string(),
                "--change", "CHG-1"});
    }
    cli.enroll("web-01", {"ring=test"});
    cli.enroll("web-02", {"ring=prod"});
    cli.enroll("db-01", {"ring=lab"});
    return id;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

TEST_CASE("the release engineer's path from init to publish", "[orchestrator][cli]") {
    // plan previews the waves over enrolled hosts; publish prints the id; status shows it.
    PatchwaveCli cli;
    const std::string id = prepared(cli, 2);
    const auto rollout = cli.write_rollout("2026-11-B", {id.substr(0, 10)});
    auto plan = nlohmann::json::parse(cli.ok({"rollout", "plan", rollout.string(), "--json"}));
    CHECK(plan["rollout_id"] == "2026-11-B");
    CHECK(plan["version"] == 1);
    CHECK(plan["publishable"] == true);
    CHECK(plan["bundles"][0]["id"] == id);
    CHECK(plan["waves"][0]["hosts"] == nlohmann::json{"web-01"});
    CHECK(plan["waves"][1]["hosts"] == nlohmann::json{"web-02"});
    CHECK(plan["unassigned_hosts"] == nlohmann::json{"db-01"});

    CHECK(cli.ok({"rollout", "publish", rollout.string()}) == "2026-11-B\n");
    auto status = nlohmann::json::parse(cli.ok({"status", "--json"}));
    REQUIRE(status.size() == 1);
    CHECK(status[0]["phase"] == "running");
    CHECK(status[0]["open_wave"] == 1);
    CHECK(status[0]["waves"][0]["targeted"] == 1);
    CHECK(status[0]["waves"][0]["counts"]["silent"] == 1);
    // Publishing the same name again makes version 2.
    auto again = nlohmann::json::parse(cli.ok({"rollout", "publish", rollout.string(), "--json"}));
    CHECK(again["version"] == 2);
}

TEST_CASE("publish refuses a bundle below the approval threshold", "[orchestrator][cli]") {
    // One of two approvals: exit 3 naming the bundle and the wave; nothing is published.
    PatchwaveCli cli;
    const std::string id = prepared(cli, 1);
    const auto rollout = cli.write_rollout("r1", {id});
    const auto result = cli.run({"rollout", "publish", rollout.string()});
    CHECK(result.exit_code == 3);
    CHECK(first_line(result.err) == "error: cannot publish rollout \"r1\": bundle \"demo-fix\" 1.0 (" + id.substr(0, 12) +
                                        "): 1 of 2 required approvals for wave \"prod\"");
    CHECK(nlohmann::json::parse(cli.ok({"status", "--json"})).empty());
}

TEST_CASE("an emergency rollout needs only the emergency threshold", "[orchestrator][cli]") {
    // One approval meets the emergency threshold of 1.
    PatchwaveCli cli;
    const std::string id = prepared(cli, 1);
    CHECK(cli.ok({"rollout", "publish", cli.write_rollout("hotfix", {id}, true).string()}) == "hotfix\n");
}

TEST_CASE("publish refuses held and cancelled bundles", "[orchestrator][cli]") {
    // Triage hold or cancelled: exit 3 with the status named, even with full approvals.
    PatchwaveCli cli;
    const std::string id = prepared(cli, 2);
    const auto rollout = cli.write_rollout("r1", {id});
    for (const std::string status : {"hold", "cancelled"}) {
        cli.ok({"bundle", "triage", id, "--status", status});
        const auto result = cli.run({"rollout", "publish", rollout.string()});
        CHECK(result.exit_code == 3);
        CHECK(first_line(result.err) == "error: cannot publish rollout \"r1\": bundle \"demo-fix\" 1.0 (" +
                                            id.substr(0, 12) + "): triage status is \"" + status +
                                            "\": it is not offered to hosts");
    }
    cli.ok({"bundle", "triage", id, "--status", "proceed"});
    CHECK(cli.run({"rollout", "publish", rollout.string()}).exit_code == 0);
}

TEST_CASE("a malformed rollout file is refused with file and line", "[orchestrator][cli]") {
    // The parse error names the file, the line, the wave and the field: exit 2.
    PatchwaveCli cli;
    const std::string id = prepared(cli, 2);
    const auto file = cli.file("bad.toml");
    {
        std::ofstream out(file);
        out << "name = \"bad\"\nbundles = [\"" << id << "\"]\nexpires = \"2099-01-01T00:00:00Z\"\n\n[[wave]]\n"
            << "name = \"canary\"\nselect = { ring = \"prod\" }\nsuccess_threshold = \"120%\"\n";
    }
    const auto result = cli.run({"rollout", "plan", file.string()});
    CHECK(result.exit_code == 2);
    CHECK(result.err == "error: " + file.string() + ":8: wave \"canary\": success_threshold \"120%\" is not 0-100%\n");
    const auto unknown = cli.write_rollout("r2", {"0123456789abcdef"});
    const auto missing = cli.run({"rollout", "plan", unknown.string()});
    CHECK(missing.exit_code == 1);
    CHECK(missing.err == "error: " + unknown.string() + ": no bundle matches \"0123456789abcdef\"\n");
}

TEST_CASE("control records follow the rollout's state", "[orchestrator][cli]") {
    // pause, resume, advance succeed in order; impossible transitions are refused with exit 1.
    PatchwaveCli cli;
    const std::string id = prepared(cli, 2);
    cli.ok({"rollout", "publish", cli.write_rollout("r1", {id}).string()});

    const auto resume_running = cli.run({"rollout", "resume", "r1"});
    CHECK(resume_running.exit_code == 1);
    CHECK(resume_running.err == "error: rollout \"r1\" is not paused\n");
    cli.ok({"rollout", "pause", "r1", "--reason", "looking at web-01", "--operator", "alice"});
    auto status = nlohmann::json::parse(cli.ok({"status", "r1", "--json"}));
    CHECK(status[0]["phase"] == "paused");
    CHECK(status[0]["reason"] == "looking at web-01");
    CHECK(status[0]["by"] == "alice");
    CHECK(cli.run({"rollout", "pause", "r1"}).err == "error: rollout \"r1\" is already paused\n");

    // advance resumes too, and opens wave 2.
    cli.ok({"rollout", "advance", "r1", "--to-wave", "prod"});
    status = nlohmann::json::parse(cli.ok({"status", "r1", "--json"}));
    CHECK(status[0]["phase"] == "running");
    CHECK(status[0]["open_wave"] == 2);
    const auto past_last = cli.run({"rollout", "advance", "r1"});
    CHECK(past_last.exit_code == 1);
    CHECK(past_last.err == "error: rollout \"r1\": wave \"prod\" is the last wave; there is nothing to advance to\n");
    const auto already = cli.run({"rollout", "advance", "r1", "--to-wave", "1"});
    CHECK(already.exit_code == 1);
    CHECK(already.err == "error: rollout \"r1\": wave \"test\" is already open\n");
    CHECK(cli.run({"rollout", "advance", "r1", "--to-wave", "nowhere"}).exit_code == 2);
    CHECK(cli.run({"rollout", "pause", "nosuch"}).exit_code == 1);
}

TEST_CASE("abort is final", "[orchestrator][cli]") {
    // After abort every control and a re-publish of the same name are refused.
    PatchwaveCli cli;
    cli.set_now("2026-11-24T10:00:00Z");
    const std::string id = prepared(cli, 2);
    const auto rollout = cli.write_rollout("r1", {id});
    cli.ok({"rollout", "publish", rollout.string()});
    cli.ok({"rollout", "abort", "r1", "--reason", "bad patch", "--operator", "bob"});
    auto status = nlohmann::json::parse(cli.ok({"status", "r1", "--json"}));
    CHECK(status[0]["phase"] == "aborted");
    for (const std::string action : {"resume", "pause", "advance", "abort"}) {
        const auto result = cli.run({"rollout", action, "r1"});
        CHECK(result.exit_code == 1);
        CHECK(result.err == "error: rollout \"r1\" was aborted at 2026-11-24T10:00:00Z by bob; abort is final\n");
    }
    const auto republish = cli.run({"rollout", "publish", rollout.string()});
    CHECK(republish.exit_code == 1);
    CHECK(republish.err == "error: rollout \"r1\" was aborted; abort is final, publish under a new name\n");
}

TEST_CASE("a single-wave rollout needs full approval for its only wave", "[orchestrator][cli]") {
    // Without a test ring, no wave runs on the release signature alone.
    PatchwaveCli cli;
    cli.init();
    const std::string id = cli.create_bundle("solo");
    const auto file = cli.file("solo.toml");
    {
        std::ofstream out(file);
        out << "name = \"solo\"\nbundles = [\"" << id << "\"]\nexpires = \"2099-01-01T00:00:00Z\"\n\n[[wave]]\nname = \"all\"\n";
    }
    const auto result = cli.run({"rollout", "publish", file.string()});
    CHECK(result.exit_code == 3);
    CHECK(result.err.find("0 of 2 required approvals for wave \"all\"") != std::string::npos);
}

TEST_CASE("audit lists every targeted host that is not installed", "[orchestrator][cli]") {
    // With no status gathered yet, both targeted hosts are silent; the lab host is not targeted.
    PatchwaveCli cli;
    const std::string id = prepared(cli, 2);
    cli.ok({"rollout", "publish", cli.write_rollout("r1", {id}).string()});
    auto audit = nlohmann::json::parse(cli.ok({"audit", "--rollout", "r1", "--json"}));
    REQUIRE(audit.size() == 1);
    CHECK(audit[0]["targeted"] == 2);
    CHECK(audit[0]["installed"] == 0);
    REQUIRE(audit[0]["silent"].size() == 2);
    CHECK(audit[0]["silent"][0]["host"] == "web-01");
    CHECK(audit[0]["silent"][0]["last_heard"].is_null());
    CHECK(audit[0]["silent"][1]["host"] == "web-02");
}
