#include "orchestrator/dashboard.hpp"

#include <catch2/catch.hpp>

using namespace patchwave;
using namespace patchwave::orchestrator;

namespace {

net::HttpRequest get(std::string path, std::map<std::string, std::string> query = {}) {
    return net::HttpRequest{std::move(path), std::move(query)};
}

// A reader over an empty fleet with three events; it records what it was asked.
struct FakeReader {
    std::int64_t after = -1;
    std::size_t limit = 0;
    bool busy = false;
    Result<FleetSnapshot> operator()(std::int64_t events_after, std::size_t events_limit) {
        after = events_after;
        limit = events_limit;
        if (busy) return fail(Errc::timeout, "home is busy");
        FleetSnapshot snapshot;
        snapshot.report = std::make_shared<const FleetReport>();
        snapshot.silence = std::chrono::minutes(10);
        for (std::int64_t id = events_after + 1; id <= 3 && snapshot.events.size() < events_limit; ++id) {
            Event event;
            event.id = id;
            event.kind = "published";
            event.rollout_id = "r<1>";
            snapshot.events.push_back(event);
        }
        return snapshot;
    }
};

net::HttpResponse answer(FakeReader& reader, const net::HttpRequest& request) {
    return answer_dashboard(
        request, [&](std::int64_t after, std::size_t limit) { return reader(after, limit); }, {{"ok", true}});
}

std::string header(const net::HttpResponse& response, const std::string& name) {
    for (const auto& [key, value] : response.headers) {
        if (key == name) return value;
    }
    return "";
}

}  // namespace

TEST_CASE("the dashboard page, script and stylesheet are served from the binary with a strict policy", "[dashboard]") {
    // No inline script, nothing from elsewhere: the policy allows 'self' only.
    FakeReader reader;
    const auto page = answer(reader, get("/"));
    CHECK(page.status == 200);
    CHECK(page.content_type == "text/html; charset=utf-8");
    CHECK(page.body.find("<script src=\"dashboard.js\"") != std::string::npos);
    CHECK(header(page, "Content-Security-Policy").find("script-src 'self'") != std::string::npos);
    CHECK(answer(reader, get("/dashboard.js")).content_type == "text/javascript; charset=utf-8");
    CHECK(answer(reader, get("/dashboard.css")).content_type == "text/css; charset=utf-8");
    CHECK(answer(reader, get("/index.html")).body == page.body);
    CHECK(reader.after == -1);  // static files never read the database
    CHECK(answer(reader, get("/etc/passwd")).status == 404);
    CHECK(answer(reader, get("/api/rollout/pause")).status == 404);
}

TEST_CASE("the dashboard's JSON endpoints read one snapshot with the events asked for", "[dashboard]") {
    // /api/dashboard bundles everything; events come after the id given; limits are checked.
    FakeReader reader;
    const auto all = answer(reader, get("/api/dashboard", {{"events_after", "1"}}));
    REQUIRE(all.status == 200);
    CHECK(all.content_type == "application/json");
    const auto json = nlohmann::json::parse(all.body);
    CHECK(reader.after == 1);
    CHECK(reader.limit == 200);
    CHECK(json["events"].size() == 2);
    CHECK(json["events"][0]["id"] == 2);
    CHECK(json["status"] == nlohmann::json::array());
    CHECK(json["hosts"] == nlohmann::json::array());
    CHECK(json["serve"]["ok"] == true);
    CHECK(json["silence_seconds"] == 600);

    const auto events = nlohmann::json::parse(answer(reader, get("/api/events", {{"limit", "1"}})).body);
    CHECK(events.size() == 1);
    CHECK(events[0]["rollout_id"] == "r<1>");
    CHECK(answer(reader, get("/api/status")).body == "[]\n");
    CHECK(reader.limit == 0);  // no events read for status
    CHECK(answer(reader, get("/api/events", {{"limit", "0"}})).status == 400);
    CHECK(answer(reader, get("/api/events", {{"after", "-1"}})).status == 400);
    CHECK(answer(reader, get("/api/events", {{"after", "x"}})).status == 400);
}

TEST_CASE("a busy home makes the dashboard answer 503 with a retry hint", "[dashboard]") {
    // The page keeps what it shows and polls again.
    FakeReader reader;
    reader.busy = true;
    const auto busy = answer(reader, get("/api/dashboard"));
    CHECK(busy.status == 503);
    CHECK(header(busy, "Retry-After") == "1");
}
