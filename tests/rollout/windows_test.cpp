#include "rollout/windows.hpp"

#include <catch2/catch.hpp>

#include "rules_fixtures.hpp"

using namespace patchwave;
using namespace patchwave::rollout;
using patchwave::rollout::test::at;
using std::chrono::minutes;

namespace {

constexpr std::uint8_t kMon = 1, kTue = 2, kWed = 4, kThu = 8, kFri = 16, kSat = 32, kSun = 64;

std::vector<Window> windows(std::initializer_list<std::string_view> texts) {
    std::vector<Window> out;
    for (auto text : texts) {
        auto window = parse_window(text);
        REQUIRE(window.has_value());
        out.push_back(*window);
    }
    return out;
}

std::string parse_error(std::string_view text) {
    auto window = parse_window(text);
    REQUIRE_FALSE(window.has_value());
    CHECK(window.error().is(Errc::invalid_argument));
    return window.error().message();
}

std::string offset_error(std::string_view text) {
    auto offset = parse_utc_offset(text);
    REQUIRE_FALSE(offset.has_value());
    CHECK(offset.error().is(Errc::invalid_argument));
    return offset.error().message();
}

}  // namespace

// ---- parsing ---------------------------------------------------------------

TEST_CASE("a single-day window parses to its day and minutes", "[rollout][windows]") {
    // "Sat 01:00-05:00" is Saturday only, 60 to 300 minutes after midnight.
    auto window = parse_window("Sat 01:00-05:00");
    REQUIRE(window);
    CHECK(window->days == kSat);
    CHECK(window->start == minutes(60));
    CHECK(window->end == minutes(300));
    CHECK_FALSE(window->crosses_midnight());
}

TEST_CASE("a day range with an end before its start crosses midnight", "[rollout][windows]") {
    // "Mon-Fri 22:00-02:00" starts on the five weekdays and ends the next morning.
    auto window = parse_window("Mon-Fri 22:00-02:00");
    REQUIRE(window);
    CHECK(window->days == (kMon | kTue | kWed | kThu | kFri));
    CHECK(window->start == minutes(22 * 60));
    CHECK(window->end == minutes(120));
    CHECK(window->crosses_midnight());
}

TEST_CASE("a day list selects exactly the listed days", "[rollout][windows]") {
    // "Sat,Sun" is the weekend, nothing else.
    auto window = parse_window("Sat,Sun 01:00-03:00");
    REQUIRE(window);
    CHECK(window->days == (kSat | kSun));
}

TEST_CASE("daily and a bare time range select every day", "[rollout][windows]") {
    // "daily 02:00-04:00" and "02:00-04:00" mean the same window.
    auto daily = parse_window("daily 02:00-04:00");
    auto bare = parse_window("02:00-04:00");
    REQUIRE(daily);
    REQUIRE(bare);
    CHECK(daily->days == kEveryDay);
    CHECK(*daily == *bare);
}

TEST_CASE("a day range may wrap over the end of the week", "[rollout][windows]") {
    // "Fri-Mon" is Friday, Saturday, Sunday and Monday.
    auto window = parse_window("Fri-Mon 01:00-02:00");
    REQUIRE(window);
    CHECK(window->days == (kFri | kSat | kSun | kMon));
}

TEST_CASE("day names are read in any case and with spaces in lists", "[rollout][windows]") {
    // "sat, SUN" reads like "Sat,Sun".
    auto window = parse_window("  sat, SUN 1:00-03:00 ");
    REQUIRE(window);
    CHECK(window->days == (kSat | kSun));
    CHECK(window->start == minutes(60));
}

TEST_CASE("24:00 is accepted as an end and covers up to midnight", "[rollout][windows]") {
    // "Sat 22:00-24:00" ends at midnight and does not cross it.
    auto window = parse_window("Sat 22:00-24:00");
    REQUIRE(window);
    CHECK(window->end == minutes(1440));
    CHECK_FALSE(window->crosses_midnight());
}

TEST_CASE("window parse errors quote the text and say why", "[rollout][windows]") {
    // Each malformed window is refused with its own reason.
    CHECK(parse_error("") == "\"\" is not a window: empty (use e.g. \"Sat 01:00-05:00\")");
    CHECK(parse_error("Sat 25:00-05:00")
          == "\"Sat 25:00-05:00\" is not a window: hour 25 is not 0-23");
    CHECK(parse_error("Sat 01:60-05:00")
          == "\"Sat 01:60-05:00\" is not a window: minute 60 is not 0-59");
    CHECK(parse_error("Sat 01:00-01:00") ==
          "\"Sat 01:00-01:00\" is not a window: start equals end (use 00:00-24:00 for a whole day)");
    CHECK(parse_error("Sta 01:00-05:00") ==
          "\"Sta 01:00-05:00\" is not a window: unknown day \"Sta\" (use Mon, Tue, Wed, Thu, Fri, Sat, Sun or daily)");
    CHECK(parse_error("Mon-Frx 01:00-02:00") ==
          "\"Mon-Frx 01:00-02:00\" is not a window: unknown day \"Frx\" (use Mon, Tue, Wed, Thu, Fri, Sat, Sun or "
          "daily)");
    CHECK(parse_error("Saturday 01:00-02:00") ==
          "\"Saturday 01:00-02:00\" is not a window: unknown day \"Saturday\" (use Mon, Tue, Wed, Thu, Fri, Sat, Sun "
          "or daily)");
    CHECK(parse_error("Sat,Sat 01:00-02:00")
          == "\"Sat,Sat 01:00-02:00\" is not a window: Sat is listed twice");
    CHECK(parse_error("Mon-Wed,Tue 01:00-02:00")
          == "\"Mon-Wed,Tue 01:00-02:00\" is not a window: Tue is listed twice");
    CHECK(parse_error("Sat,,Sun 01:00-02:00")
          == "\"Sat,,Sun 01:00-02:00\" is not a window: empty day in list");
    CHECK(parse_error("daily,Mon 01:00-02:00")
          == "\"daily,Mon 01:00-02:00\" is not a window: daily cannot be combined with days");
    CHECK(parse_error("Sat 01:00")
          == "\"Sat 01:00\" is not a window: expected a time range HH:MM-HH:MM");
    CHECK(parse_error("Sat 01:00-02:00-03:00")
          == "\"Sat 01:00-02:00-03:00\" is not a window: expected a time range HH:MM-HH:MM");
    CHECK(parse_error("Sat 1-5") == "\"Sat 1-5\" is not a window: time \"1\" is not HH:MM");
    CHECK(parse_error("Sat 01:5-02:00")
          == "\"Sat 01:5-02:00\" is not a window: time \"01:5\" is not HH:MM");
    CHECK(parse_error("Sat 24:00-02:00")
          == "\"Sat 24:00-02:00\" is not a window: 24:00 is only allowed as an end");
    CHECK(parse_error("Sat 01:00-24:30")
          == "\"Sat 01:00-24:30\" is not a window: hour 24 is not 0-23");
}

TEST_CASE("a list of windows names the failing entry", "[rollout][windows]") {
    // The second, bad entry is reported as "window 2".
    const std::vector<std::string> texts{"Sat 01:00-05:00", "Sun 02:00-02:00"};
    auto parsed = parse_windows(texts);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().message() ==
          "window 2: \"Sun 02:00-02:00\" is not a window: start equals end (use 00:00-24:00 for a whole day)");
}

TEST_CASE("a list of good windows parses in order", "[rollout][windows]") {
    // Both windows come back, in the order written.
    const std::vector<std::string> texts{"Sat 01:00-05:00", "Sun 02:00-04:00"};
    auto parsed = parse_windows(texts);
    REQUIRE(parsed);
    REQUIRE(parsed->size() == 2);
    CHECK((*parsed)[0].days == kSat);
    CHECK((*parsed)[1].days == kSun);
}

TEST_CASE("windows format canonically and read back the same", "[rollout][windows]") {
    // Runs of three days become ranges, shorter runs lists, all days "daily".
    CHECK(format_window(windows({"sat 1:00-05:00"})[0]) == "Sat 01:00-05:00");
    CHECK(format_window(windows({"Mon-Fri 22:00-02:00"})[0]) == "Mon-Fri 22:00-02:00");
    CHECK(format_window(windows({"Sun,Sat 01:00-03:00"})[0]) == "Sat,Sun 01:00-03:00");
    CHECK(format_window(windows({"Fri-Mon 00:00-24:00"})[0]) == "Mon,Fri-Sun 00:00-24:00");
    CHECK(format_window(windows({"02:00-04:00"})[0]) == "daily 02:00-04:00");
    const Window original = windows({"Mon,Wed-Fri 23:30-00:15"})[0];
    auto again = parse_window(format_window(original));
    REQUIRE(again);
    CHECK(*again == original);
}

TEST_CASE("UTC offsets parse as signed minutes", "[rollout][windows]") {
    // "+01:00" is 60 minutes, "-05:30" is -330, "Z" is 0.
    CHECK(parse_utc_offset("+01:00").value() == minutes(60));
    CHECK(parse_utc_offset("-05:30").value() == minutes(-330));
    CHECK(parse_utc_offset("+14:00").value() == minutes(840));
    CHECK(parse_utc_offset("Z").value() == minutes(0));
    CHECK(format_utc_offset(minutes(-330)) == "-05:30");
    CHECK(format_utc_offset(minutes(60)) == "+01:00");
    CHECK(format_utc_offset(minutes(0)) == "+00:00");
}

TEST_CASE("bad UTC offsets are refused with the reason", "[rollout][windows]") {
    // Zone names, short forms and offsets beyond 14 hours are errors.
    const std::string shape =
        "expected +HH:MM or -HH:MM, e.g. +01:00 (zone names are not supported)";
    CHECK(offset_error("+1") == "\"+1\" is not a UTC offset: " + shape);
    CHECK(offset_error("Europe/Berlin") == "\"Europe/Berlin\" is not a UTC offset: " + shape);
    CHECK(offset_error("01:00") == "\"01:00\" is not a UTC offset: " + shape);
    CHECK(offset_error("+15:00") == "\"+15:00\" is not a UTC offset: more than 14 hours from UTC");
    CHECK(offset_error("+14:01") == "\"+14:01\" is not a UTC offset: more than 14 hours from UTC");
    CHECK(offset_error("+01:60") == "\"+01:60\" is not a UTC offset: minutes 60 are not 0-59");
}

// ---- evaluation ------------------------------------------------------------

TEST_CASE("the start of a window is inside and its end is outside", "[rollout][windows]") {
    // Sat 01:00 opens the window, Sat 05:00 is already past it.
    const auto sat = windows({"Sat 01:00-05:00"});
    CHECK_FALSE(is_inside(sat, minutes(0), at("2026-11-28T00:59:59Z")));
    CHECK(is_inside(sat, minutes(0), at("2026-11-28T01:00:00Z")));
    CHECK(is_inside(sat, minutes(0), at("2026-11-28T04:59:59Z")));
    CHECK_FALSE(is_inside(sat, minutes(0), at("2026-11-28T05:00:00Z")));
    CHECK_FALSE(is_inside(sat, minutes(0), at("2026-11-29T02:00:00Z")));  // Sunday
}

TEST_CASE("a window crossing midnight belongs to its start day", "[rollout][windows]") {
    // "Fri 22:00-02:00" covers Saturday 01:00 but not Friday 01:00 (that is Thursday's night).
    const auto fri = windows({"Fri 22:00-02:00"});
    CHECK(is_inside(fri, minutes(0), at("2026-11-27T22:00:00Z")));
    CHECK(is_inside(fri, minutes(0), at("2026-11-28T01:59:59Z")));
    CHECK_FALSE(is_inside(fri, minutes(0), at("2026-11-28T02:00:00Z")));
    CHECK_FALSE(is_inside(fri, minutes(0), at("2026-11-27T01:00:00Z")));
    CHECK_FALSE(is_inside(fri, minutes(0), at("2026-11-28T22:30:00Z")));
}

TEST_CASE("a Sunday window crossing midnight runs into Monday of the next week",
          "[rollout][windows]") {
    // "Sun 22:00-02:00" is open Monday 01:30 and closes Monday 02:00.
    const auto sun = windows({"Sun 22:00-02:00"});
    CHECK(is_inside(sun, minutes(0), at("2026-11-30T01:30:00Z")));
    CHECK_FALSE(is_inside(sun, minutes(0), at("2026-11-30T02:00:00Z")));
    CHECK(current_closing(sun, minutes(0), at("2026-11-29T23:00:00Z"))
          == at("2026-11-30T02:00:00Z"));
    CHECK(next_opening(sun, minutes(0), at("2026-11-30T03:00:00Z")) == at("2026-12-06T22:00:00Z"));
}

TEST_CASE("a weekday night window does not cover Monday morning", "[rollout][windows]") {
    // "Mon-Fri 22:00-02:00": Monday 01:00 would be Sunday's night, which is not listed; Saturday
    // 01:00 is Friday's.
    const auto weeknights = windows({"Mon-Fri 22:00-02:00"});
    CHECK_FALSE(is_inside(weeknights, minutes(0), at("2026-11-23T01:00:00Z")));
    CHECK(is_inside(weeknights, minutes(0), at("2026-11-28T01:00:00Z")));
    CHECK(next_opening(weeknights, minutes(0), at("2026-11-28T03:00:00Z"))
          == at("2026-11-30T22:00:00Z"));
}

TEST_CASE("next opening is now when inside", "[rollout][windows]") {
    // Inside the window there is nothing to wait for.
    const auto sat = windows({"Sat 01:00-05:00"});
    const Timestamp now = at("2026-11-28T03:00:00Z");
    CHECK(next_opening(sat, minutes(0), now) == now);
}

TEST_CASE("next opening from outside is the next start, even a week away", "[rollout][windows]") {
    // From Friday the Saturday window opens tomorrow; from Sunday it opens six days later.
    const auto sat = windows({"Sat 01:00-05:00"});
    CHECK(next_opening(sat, minutes(0), at("2026-11-27T12:00:00Z")) == at("2026-11-28T01:00:00Z"));
    CHECK(next_opening(sat, minutes(0), at("2026-11-29T10:00:00Z")) == at("2026-12-05T01:00:00Z"));
    CHECK(next_opening(sat, minutes(0), at("2026-11-28T05:00:00Z")) == at("2026-12-05T01:00:00Z"));
}

TEST_CASE("the earliest of several windows opens next", "[rollout][windows]") {
    // With Wednesday and Saturday windows, Tuesday waits for Wednesday.
    const auto two = windows({"Sat 01:00-05:00", "Wed 03:00-04:00"});
    CHECK(next_opening(two, minutes(0), at("2026-11-24T12:00:00Z")) == at("2026-11-25T03:00:00Z"));
    CHECK(next_opening(two, minutes(0), at("2026-11-25T04:00:00Z")) == at("2026-11-28T01:00:00Z"));
}

TEST_CASE("an empty window list is always open and never closes", "[rollout][windows]") {
    // No windows configured means any time.
    const std::vector<Window> none;
    const Timestamp now = at("2026-11-25T13:37:00Z");
    CHECK(is_inside(none, minutes(0), now));
    CHECK(next_opening(none, minutes(0), now) == now);
    CHECK_FALSE(current_closing(none, minutes(0), now).has_value());
    CHECK_FALSE(next_closing(none, minutes(0), now).has_value());
}

TEST_CASE("window times are read in the configured UTC offset", "[rollout][windows]") {
    // At +01:00, "Sat 01:00-05:00" is Saturday 00:00-04:00 UTC.
    const auto sat = windows({"Sat 01:00-05:00"});
    const minutes plus_one(60);
    CHECK(is_inside(sat, plus_one, at("2026-11-28T00:00:00Z")));
    CHECK_FALSE(is_inside(sat, plus_one, at("2026-11-28T04:00:00Z")));
    CHECK(next_opening(sat, plus_one, at("2026-11-27T12:00:00Z")) == at("2026-11-28T00:00:00Z"));
    CHECK(current_closing(sat, plus_one, at("2026-11-28T01:00:00Z")) == at("2026-11-28T04:00:00Z"));
}

TEST_CASE("a negative offset moves the local day back across UTC midnight", "[rollout][windows]") {
    // At -05:00, Saturday 03:00 UTC is Friday 22:00 local, inside "Fri 21:00-23:00".
    const auto fri = windows({"Fri 21:00-23:00"});
    const minutes minus_five(-300);
    CHECK(is_inside(fri, minus_five, at("2026-11-28T03:00:00Z")));
    CHECK_FALSE(is_inside(fri, minus_five, at("2026-11-27T22:00:00Z")));
    CHECK(next_opening(fri, minus_five, at("2026-11-27T12:00:00Z")) == at("2026-11-28T02:00:00Z"));
}

TEST_CASE("adjacent windows merge into one open period", "[rollout][windows]") {
    // "Sat 01:00-03:00" and "Sat 03:00-05:00" close at 05:00, and 03:00 is inside.
    const auto two = windows({"Sat 01:00-03:00", "Sat 03:00-05:00"});
    CHECK(is_inside(two, minutes(0), at("2026-11-28T03:00:00Z")));
    CHECK(current_closing(two, minutes(0), at("2026-11-28T02:00:00Z"))
          == at("2026-11-28T05:00:00Z"));
}

TEST_CASE("overlapping windows close at the later end", "[rollout][windows]") {
    // "Sat 01:00-04:00" and "Sat 02:00-05:00" form one period 01:00-05:00.
    const auto two = windows({"Sat 02:00-05:00", "Sat 01:00-04:00"});
    const auto period = current_or_next_period(two, minutes(0), at("2026-11-28T03:00:00Z"));
    REQUIRE(period);
    CHECK(period->opens == at("2026-11-28T01:00:00Z"));
    CHECK(period->closes == at("2026-11-28T05:00:00Z"));
}

TEST_CASE("windows merge across midnight and the week boundary", "[rollout][windows]") {
    // "Sun 22:00-24:00" then "Mon 00:00-02:00" is one period closing Monday 02:00.
    const auto two = windows({"Mon 00:00-02:00", "Sun 22:00-24:00"});
    CHECK(current_closing(two, minutes(0), at("2026-11-29T23:00:00Z"))
          == at("2026-11-30T02:00:00Z"));
    CHECK(is_inside(two, minutes(0), at("2026-11-30T00:00:00Z")));
}

TEST_CASE("next closing from outside is the end of the next window", "[rollout][windows]") {
    // On Friday, the Saturday window will close Saturday 05:00; it is not closing now.
    const auto sat = windows({"Sat 01:00-05:00"});
    const Timestamp friday = at("2026-11-27T12:00:00Z");
    CHECK_FALSE(current_closing(sat, minutes(0), friday).has_value());
    CHECK(next_closing(sat, minutes(0), friday) == at("2026-11-28T05:00:00Z"));
}

TEST_CASE("windows covering the whole week never close", "[rollout][windows]") {
    // "daily 00:00-12:00" plus "daily 12:00-24:00" is always open.
    const auto halves = windows({"daily 00:00-12:00", "daily 12:00-24:00"});
    const Timestamp now = at("2026-11-25T12:00:00Z");
    CHECK(is_inside(halves, minutes(0), now));
    CHECK_FALSE(current_closing(halves, minutes(0), now).has_value());
    CHECK(next_opening(halves, minutes(0), now) == now);
    const auto whole = windows({"daily 00:00-24:00"});
    CHECK_FALSE(next_closing(whole, minutes(0), now).has_value());
}

TEST_CASE("a daily window with a gap still closes every day", "[rollout][windows]") {
    // "daily 00:00-23:59" closes at 23:59 and reopens at 00:00.
    const auto almost = windows({"daily 00:00-23:59"});
    CHECK(current_closing(almost, minutes(0), at("2026-11-25T12:00:00Z"))
          == at("2026-11-25T23:59:00Z"));
    CHECK(next_opening(almost, minutes(0), at("2026-11-25T23:59:30Z"))
          == at("2026-11-26T00:00:00Z"));
}

TEST_CASE("a window with no days never opens", "[rollout][windows]") {
    // Hand-built windows without days cannot open; parse never produces them.
    const std::vector<Window> never{Window{0, minutes(60), minutes(120)}};
    const Timestamp now = at("2026-11-25T12:00:00Z");
    CHECK_FALSE(is_inside(never, minutes(0), now));
    CHECK_FALSE(next_opening(never, minutes(0), now).has_value());
    CHECK_FALSE(current_or_next_period(never, minutes(0), now).has_value());
}
