#include "orchestrator/serve_events.hpp"

#include <catch2/catch.hpp>

#include "orchestrator/schema.hpp"
#include "support/temp_dir.hpp"

using namespace patchwave;
using namespace patchwave::orchestrator;

namespace {

const Timestamp kNow = parse_timestamp("2026-11-23T10:00:00Z").value();

Event refused_event(std::string rollout, std::string agent, std::string subject, std::string reason) {
    Event event;
    event.time = kNow;
    event.kind = std::string(event_kind::refused);
    event.rollout_id = std::move(rollout);
    event.actor = "web-01";
    event.reason = reason;
    event.details = {{"agent", agent}, {"host", "web-01"}, {"subject", subject}, {"count", 3}};
    return event;
}

}  // namespace

TEST_CASE("a refused event is remembered by agent, subject and reason, also after a restart", "[orchestrator][events]") {
    // The key serve checks before announcing a host's refusal comes back from the log when it loads.
    testing::TempDir dir;
    auto db = Database::open(dir / "patchwave.db");
    REQUIRE(db);
    REQUIRE(migrate(*db));
    const std::string agent(64, 'a');
    const std::string key = EventRecorder::refused_key(agent, "manifest r1 v9", "release role: 0 of 1");
    CHECK(key == "refused/" + agent + "/manifest r1 v9/release role: 0 of 1");
    CHECK(EventRecorder::key_of(refused_event("r1", agent, "manifest r1 v9", "release role: 0 of 1")) == key);
    Event incomplete = refused_event("r1", agent, "manifest r1 v9", "x");
    incomplete.details.erase("subject");
    CHECK(EventRecorder::key_of(incomplete).empty());

    EventRecorder recorder(nullptr);
    REQUIRE(recorder.load(*db));
    CHECK_FALSE(recorder.announced("r1", key));
    REQUIRE(recorder.record(*db, refused_event("r1", agent, "manifest r1 v9", "release role: 0 of 1"), key));
    CHECK(recorder.announced("r1", key));
    // Refusals that name no rollout live under "".
    const std::string root_key = EventRecorder::refused_key(agent, "trust root v7", "not signed");
    REQUIRE(recorder.record(*db, refused_event("", agent, "trust root v7", "not signed"), root_key));

    EventRecorder restarted(nullptr);
    REQUIRE(restarted.load(*db));
    CHECK(restarted.announced("r1", key));
    CHECK(restarted.announced("", root_key));
    CHECK_FALSE(restarted.announced("r1", EventRecorder::refused_key(agent, "manifest r1 v9", "expired")));
    CHECK_FALSE(restarted.announced("r1", EventRecorder::refused_key(std::string(64, 'b'), "manifest r1 v9",
                                                                     "release role: 0 of 1")));
}
