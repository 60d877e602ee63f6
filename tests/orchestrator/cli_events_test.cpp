#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_fixture.hpp"
#include "orchestrator/event_log.hpp"

using namespace patchwave;
using patchwave::testing::PatchwaveCli;

namespace {

// Appends events straight into the home's database, as `patchwave serve` will.
std::vector<std::int64_t> append_sample_events(const PatchwaveCli& cli) {
    auto db = orchestrator::Database::open(cli.home() / "patchwave.db");
    REQUIRE(db);
    const Timestamp time = parse_timestamp("2026-11-20T10:00:00Z").value();
    auto make = [&](int seconds, std::string kind, std::string rollout, std::optional<std::uint32_t> wave,
                    std::string actor, std::string reason) {
        orchestrator::Event event;
        event.time = time + std::chrono::seconds(seconds);
        event.kind = std::move(kind);
        event.rollout_id = std::move(rollout);
        event.wave = wave;
        event.actor = std::move(actor);
        event.reason = std::move(reason);
        return event;
    };
    std::vector<orchestrator::Event> events{
        make(0, "published", "2026-11-B", std::nullopt, "rel-eng", "CHG-1"),
        make(60, "wave-opened", "2026-11-B", 1, "patchwave serve (auto)", "wave test passed and soaked"),
        make(90, "paused", "other", 0, "alice", "investigating")};
    events[1].details = {{"targeted", 4}};
    std::vector<std::int64_t> ids;
    for (auto& event : events) {
        auto appended = orchestrator::append_event(*db, event);
        REQUIRE(appended);
        ids.push_back(appended->id);
    }
    return ids;
}

}  // namespace

TEST_CASE("patchwave events lists the event log as JSON and as lines", "[orchestrator][cli][events]") {
    PatchwaveCli cli;
    cli.init();
    CHECK(cli.ok({"events"}) == "no events\n");
    CHECK(nlohmann::json::parse(cli.ok({"events", "--json"})) == nlohmann::json::array());

    const auto ids = append_sample_events(cli);
    auto all = nlohmann::json::parse(cli.ok({"events", "--json"}));
    REQUIRE(all.size() == 3);
    CHECK(all[0]["id"] == ids[0]);
    CHECK(all[0]["kind"] == "published");
    CHECK(all[0]["wave"].is_null());
    CHECK(all[0]["time"] == "2026-11-20T10:00:00Z");
    CHECK(all[1]["wave"] == 2);
    CHECK(all[1]["actor"] == "patchwave serve (auto)");
    CHECK(all[1]["details"]["targeted"] == 4);
    CHECK(all[2]["rollout_id"] == "other");

    auto one = nlohmann::json::parse(cli.ok({"events", "--json", "--rollout", "2026-11-B", "--after",
                                             std::to_string(ids[0])}));
    REQUIRE(one.size() == 1);
    CHECK(one[0]["id"] == ids[1]);
    auto limited = nlohmann::json::parse(cli.ok({"events", "--json", "--limit", "2"}));
    CHECK(limited.size() == 2);

    CHECK(cli.ok({"events", "--rollout", "other"}) ==
          "2026-11-20T10:01:30Z  other  paused  wave 1  by alice: investigating\n");
    CHECK(cli.ok({"events", "--limit", "1"}) == "2026-11-20T10:00:00Z  2026-11-B  published  by rel-eng: CHG-1\n");

    auto bad = cli.run({"events", "--limit", "0"});
    CHECK(bad.exit_code == 2);
}
