#include <catch2/catch.hpp>

#include "orchestrator/event_log.hpp"
#include "orchestrator/schema.hpp"
#include "support/temp_dir.hpp"

using namespace patchwave;
using namespace patchwave::orchestrator;

namespace {

const Timestamp kNow = parse_timestamp("2026-11-20T10:00:00Z").value();

Event make_event(std::string kind, std::string rollout, std::optional<std::uint32_t> wave = std::nullopt) {
    Event event;
    event.time = kNow;
    event.kind = std::move(kind);
    event.rollout_id = std::move(rollout);
    event.wave = wave;
    event.actor = "alice";
    event.reason = "change CHG-1";
    return event;
}

std::vector<std::string> kinds(const std::vector<Event>& events) {
    std::vector<std::string> out;
    for (const auto& event : events) out.push_back(event.kind);
    return out;
}

}  // namespace

TEST_CASE("events come back in append order with rising ids", "[orchestrator][events]") {
    testing::TempDir dir;
    auto db = Database::open(dir / "patchwave.db");
    REQUIRE(db);
    REQUIRE(migrate(*db));
    std::int64_t last = 0;
    for (auto kind : {event_kind::published, event_kind::wave_opened, event_kind::paused, event_kind::resumed}) {
        auto appended = append_event(*db, make_event(std::string(kind), "r1", 0));
        REQUIRE(appended);
        CHECK(appended->id > last);
        last = appended->id;
    }
    auto events = list_events(*db);
    REQUIRE(events);
    CHECK(kinds(*events) == std::vector<std::string>{"published", "wave-opened", "paused", "resumed"});
    CHECK((*events)[0].actor == "alice");
    CHECK((*events)[0].reason == "change CHG-1");
    CHECK((*events)[0].time == kNow);
    CHECK((*events)[3].id == last);
}

TEST_CASE("list_events filters by rollout, after an id and up to a limit", "[orchestrator][events]") {
    testing::TempDir dir;
    auto db = Database::open(dir / "patchwave.db");
    REQUIRE(db);
    std::vector<std::int64_t> ids;
    for (int i = 0; i < 6; ++i) {
        auto appended = append_event(*db, make_event("published", i % 2 == 0 ? "even" : "odd"));
        REQUIRE(appended);
        ids.push_back(appended->id);
    }
    auto even = list_events(*db, 0, 1000, "even");
    REQUIRE(even);
    REQUIRE(even->size() == 3);
    for (const auto& event : *even) CHECK(event.rollout_id == "even");

    auto after = list_events(*db, ids[2]);
    REQUIRE(after);
    REQUIRE(after->size() == 3);
    CHECK(after->front().id == ids[3]);

    auto limited = list_events(*db, 0, 2);
    REQUIRE(limited);
    REQUIRE(limited->size() == 2);
    CHECK(limited->back().id == ids[1]);

    auto both = list_events(*db, ids[0], 1, "even");
    REQUIRE(both);
    REQUIRE(both->size() == 1);
    CHECK(both->front().id == ids[2]);

    auto none = list_events(*db, 0, 1000, "no-such-rollout");
    REQUIRE(none);
    CHECK(none->empty());
}

TEST_CASE("the event JSON has every field with the wave 1-based", "[orchestrator][events]") {
    testing::TempDir dir;
    auto db = Database::open(dir / "patchwave.db");
    REQUIRE(db);
    Event event = make_event("wave-passed", "2026-11-B", 1);
    event.wave_name = "prod";
    event.details = {{"installed", 12}, {"targeted", 12}};
    auto appended = append_event(*db, event);
    REQUIRE(appended);
    auto listed = list_events(*db);
    REQUIRE(listed);
    REQUIRE(listed->size() == 1);
    const auto json = listed->front().to_json();
    CHECK(json["id"] == appended->id);
    CHECK(json["time"] == "2026-11-20T10:00:00Z");
    CHECK(json["kind"] == "wave-passed");
    CHECK(json["rollout_id"] == "2026-11-B");
    CHECK(json["wave"] == 2);
    CHECK(json["wave_name"] == "prod");
    CHECK(json["actor"] == "alice");
    CHECK(json["reason"] == "change CHG-1");
    CHECK(json["details"] == nlohmann::json{{"installed", 12}, {"targeted", 12}});
    // What append_event returns is what list_events reads back.
    CHECK(appended->to_json() == json);

    // An event about no wave: wave is null and wave_name absent.
    auto other = append_event(*db, make_event("completed", "2026-11-B"));
    REQUIRE(other);
    const auto completed = other->to_json();
    CHECK(completed["wave"].is_null());
    CHECK_FALSE(completed.contains("wave_name"));
    CHECK(completed["details"] == nlohmann::json::object());
}

TEST_CASE("events survive closing and reopening the database", "[orchestrator][events]") {
    testing::TempDir dir;
    std::int64_t id = 0;
    {
        auto db = Database::open(dir / "patchwave.db");
        REQUIRE(db);
        REQUIRE(migrate(*db));
        auto appended = append_event(*db, make_event("aborted", "r9", 2));
        REQUIRE(appended);
        id = appended->id;
    }
    auto db = Database::open(dir / "patchwave.db");
    REQUIRE(db);
    REQUIRE(migrate(*db));
    auto events = list_events(*db);
    REQUIRE(events);
    REQUIRE(events->size() == 1);
    CHECK(events->front().id == id);
    CHECK(events->front().kind == "aborted");
    CHECK(events->front().wave == std::optional<std::uint32_t>(2));
    // Ids keep rising after the reopen (AUTOINCREMENT never reuses one).
    auto next = append_event(*db, make_event("resumed", "r9"));
    REQUIRE(next);
    CHECK(next->id > id);
}

TEST_CASE("append_event refuses an event without a kind or with non-object details", "[orchestrator][events]") {
    testing::TempDir dir;
    auto db = Database::open(dir / "patchwave.db");
    REQUIRE(db);
    auto no_kind = append_event(*db, make_event("", "r1"));
    REQUIRE_FALSE(no_kind);
    CHECK(no_kind.error().is(Errc::invalid_argument));
    CHECK_THAT(no_kind.error().message(), Catch::Contains("kind"));
    Event bad = make_event("paused", "r1");
    bad.details = nlohmann::json::array({1, 2});
    auto bad_details = append_event(*db, bad);
    REQUIRE_FALSE(bad_details);
    CHECK_THAT(bad_details.error().message(), Catch::Contains("details"));
    auto events = list_events(*db);
    REQUIRE(events);
    CHECK(events->empty());
}

TEST_CASE("ensure_event_tables is idempotent", "[orchestrator][events]") {
    testing::TempDir dir;
    auto db = Database::open(dir / "patchwave.db");
    REQUIRE(db);
    REQUIRE(ensure_event_tables(*db));
    REQUIRE(append_event(*db, make_event("published", "r1")));
    REQUIRE(ensure_event_tables(*db));
    auto events = list_events(*db);
    REQUIRE(events);
    CHECK(events->size() == 1);
}
