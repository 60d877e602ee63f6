#include "agent/journal.hpp"

#include <cstdlib>
#include <fstream>
#include <functional>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include "common/file_io.hpp"
#include "support/temp_dir.hpp"

using namespace patchwave;
using namespace patchwave::agent;
using patchwave::testing::TempDir;

namespace {

Timestamp at(std::string_view text) {
    return *parse_timestamp(text);
}

rollout::BundleId bundle_id(std::uint8_t n) {
    rollout::BundleId id{};
    id.fill(n);
    return id;
}

// A journal with every field away from its default: two rollouts, bundles in
// several states (one failed and rolled back with a retry time, one
// reboot-pending, one mid-download with a step running), a reboot requested
// and deferred, a baseline with an absent path, drift and replay floors.
JournalState full_state() {
    JournalState state;
    state.status_sequence = 42;
    state.trusted_time = at("2026-11-24T12:00:00Z");

    BundleJournal failed;
    failed.id = bundle_id(1);
    failed.state = rollout::HostState::failed;
    failed.since = at("2026-11-24T02:00:00Z");
    failed.step = std::string(step::rollback);
    failed.attempts = 2;
    failed.interruptions = 1;
    failed.interrupted = true;
    failed.retry_at = at("2026-11-24T02:10:00Z");
    failed.failed_step = std::string(step::install);
    failed.failure_reason = "exit status 3: \"dpkg: error\"\nsecond line";
    failed.rolled_back = true;
    failed.bytes_done = 1000;
    failed.bytes_total = 1000;

    BundleJournal pending;
    pending.id = bundle_id(2);
    pending.state = rollout::HostState::reboot_pending;
    pending.since = at("2026-11-24T03:00:00Z");
    pending.step = std::string(step::verify);
    pending.needs_reboot = true;
    pending.boot_id = "5f0e7a9c-0000-4000-8000-000000000001";
    pending.bytes_done = 5'000'000'000;
    pending.bytes_total = 5'000'000'000;

    BundleJournal downloading;
    downloading.id = bundle_id(3);
    downloading.state = rollout::HostState::downloading;
    downloading.since = at("2026-11-24T04:00:00Z");
    downloading.step = std::string(step::download);
    downloading.step_running = true;
    downloading.bytes_done = 17;
    downloading.bytes_total = 4096;

    state.rollouts.push_back(RolloutJournal{"2026-11-B", 3, {failed, pending}});
    state.rollouts.push_back(RolloutJournal{"2026-12-A", 1, {downloading}});

    state.reboot.requested = true;
    state.reboot.boot_id_before = "5f0e7a9c-0000-4000-8000-000000000001";
    state.reboot.requested_at = at("2026-11-24T05:00:00Z");
    state.reboot.deferrals_used = 2;
    state.reboot.deferred_until = at("2026-11-24T06:00:00Z");
    state.reboot.notice_since = at("2026-11-24T04:55:00Z");

    state.baseline.push_back(
        TrackedPath{"/etc/ssl/openssl.cnf", std::string(64, 'a'), bundle_id(1), at("2026-11-24T02:05:00Z")});
    state.baseline.push_back(TrackedPath{"/etc/removed.conf", std::nullopt, bundle_id(2), at("2026-11-24T03:00:00Z")});
    state.baseline.push_back(
        TrackedPath{"/etc/watched", std::string(64, 'b'), std::nullopt, at("2026-11-24T01:00:00Z")});

    state.drift.push_back(rollout::DriftFinding{"/etc/ssl/openssl.cnf", std::string(64, 'a'), "absent", bundle_id(1),
                                                at("2026-11-24T07:00:00Z")});
    state.drift.push_back(rollout::DriftFinding{"/etc/watched", std::string(64, 'b'), std::string(64, 'c'),
                                                std::nullopt, at("2026-11-24T07:00:00Z")});
    state.drift_checked = at("2026-11-24T07:00:00Z");
    state.manifest_versions = {{"2026-11-B", 3}, {"2026-12-A", 1}};
    state.control_sequences = {{"2026-11-B", 7}};
    return state;
}

// The journal text of full_state() with one edit applied.
std::string edited(const std::function<void(nlohmann::json&)>& edit) {
    auto document = nlohmann::json::parse(to_json(full_state()));
    edit(document);
    return document.dump(2);
}

std::string parse_error(const std::string& text) {
    auto state = journal_from_json(text);
    REQUIRE_FALSE(state);
    CHECK(state.error().is(Errc::parse));
    return state.error().message();
}

void write_text(const std::filesystem::path& path, std::string_view text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
}

std::string read_text(const std::filesystem::path& path) {
    return read_file(path, Journal::kMaxSize).value();
}

}  // namespace

TEST_CASE("journal: a fully populated state round-trips through JSON", "[agent][journal]") {
    // Every field is away from its default, so a field left out of to_json or
    // journal_from_json breaks the equality.
    const JournalState state = full_state();
    REQUIRE(state != JournalState{});
    const std::string text = to_json(state);
    auto parsed = journal_from_json(text);
    REQUIRE(parsed);
    CHECK(*parsed == state);
    CHECK(to_json(*parsed) == text);
    // Spot checks of the written form: absent digest and optional times are null.
    auto document = nlohmann::json::parse(text);
    CHECK(document["format"] == JournalState::kFormat);
    CHECK(document["baseline"][1]["digest"].is_null());
    CHECK(document["baseline"][2]["bundle"].is_null());
    CHECK(document["rollouts"][0]["bundles"][0]["state"] == "failed");
    CHECK(document["rollouts"][0]["bundles"][1]["state"] == "reboot-pending");
    CHECK(document["rollouts"][0]["bundles"][0]["retry_at"] == "2026-11-24T02:10:00Z");
    CHECK(document["rollouts"][1]["bundles"][0]["retry_at"].is_null());
}

TEST_CASE("journal: an empty state round-trips with null optional times", "[agent][journal]") {
    // The state a fresh agent commits first.
    const JournalState state;
    auto parsed = journal_from_json(to_json(state));
    REQUIRE(parsed);
    CHECK(*parsed == state);
    auto document = nlohmann::json::parse(to_json(state));
    CHECK(document["reboot"]["requested_at"].is_null());
    CHECK(document["drift_checked"].is_null());
}

TEST_CASE("journal: find_rollout finds by id", "[agent][journal]") {
    // Both overloads; an unknown id is nullptr.
    JournalState state = full_state();
    REQUIRE(state.find_rollout("2026-12-A") != nullptr);
    CHECK(state.find_rollout("2026-12-A")->manifest_version == 1);
    const JournalState& constant = state;
    CHECK(constant.find_rollout("2026-11-B") == &state.rollouts[0]);
    CHECK(state.find_rollout("nope") == nullptr);
}

TEST_CASE("journal: opening a missing file starts empty", "[agent][journal]") {
    // First start: no journal yet, nothing done to the host.
    TempDir dir;
    auto journal = Journal::open(dir / "journal.json");
    REQUIRE(journal);
    CHECK(journal->state() == JournalState{});
    CHECK(journal->path() == dir / "journal.json");
    CHECK_FALSE(std::filesystem::exists(dir / "journal.json"));
}

TEST_CASE("journal: a commit writes a file that reopens equal with mode 0600", "[agent][journal]") {
    // The journal names what was done to the host: nobody else reads it.
    TempDir dir;
    const auto path = dir / "journal.json";
    auto journal = Journal::open(path);
    REQUIRE(journal);
    REQUIRE(journal->commit(full_state()));
    CHECK(journal->state() == full_state());
    struct stat info {};
    REQUIRE(::stat(path.c_str(), &info) == 0);
    CHECK((info.st_mode & 07777) == 0600);
    CHECK(read_text(path) == to_json(full_state()));
    auto reopened = Journal::open(path);
    REQUIRE(reopened);
    CHECK(reopened->state() == full_state());

    // A second commit replaces the first, and no temp file is left behind.
    JournalState next = full_state();
    next.status_sequence = 43;
    REQUIRE(reopened->commit(next));
    CHECK(Journal::open(path).value().state().status_sequence == 43);
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
        (void)entry;
        ++files;
    }
    CHECK(files == 1);
}

TEST_CASE("journal: a truncated file is an error naming the file", "[agent][journal]") {
    // A torn write must stop the agent, never be half-understood.
    TempDir dir;
    const auto path = dir / "journal.json";
    const std::string text = to_json(full_state());
    write_text(path, text.substr(0, text.size() / 2));
    auto journal = Journal::open(path);
    REQUIRE_FALSE(journal);
    CHECK(journal.error().is(Errc::parse));
    CHECK(journal.error().message() == path.string() + ": is not a JSON object");
    write_text(path, "");
    REQUIRE_FALSE(Journal::open(path));
    write_text(path, "[1, 2]");
    REQUIRE_FALSE(Journal::open(path));
}

TEST_CASE("journal: a corrupt field is an error naming the file and the field", "[agent][journal]") {
    // Each error says where: the file, then the path to the field.
    TempDir dir;
    const auto path = dir / "journal.json";
    write_text(path, edited([](nlohmann::json& doc) { doc["rollouts"][0]["bundles"][1]["state"] = "exploded"; }));
    auto journal = Journal::open(path);
    REQUIRE_FALSE(journal);
    CHECK(journal.error().is(Errc::parse));
    const std::string message = journal.error().message();
    CHECK(message.rfind(path.string() + ": rollouts[0].bundles[1]: state ", 0) == 0);
    CHECK_THAT(message, Catch::Contains("exploded"));
}

TEST_CASE("journal: each kind of bad field is named", "[agent][journal]") {
    // Missing, wrong type, bad time, bad id, negative number, bad floor.
    CHECK(parse_error(edited([](nlohmann::json& doc) { doc.erase("status_sequence"); }))
          == "status_sequence is missing");
    CHECK(parse_error(edited([](nlohmann::json& doc) { doc["status_sequence"] = -1; }))
          == "status_sequence is not a non-negative integer");
    CHECK(parse_error(edited([](nlohmann::json& doc) { doc["rollouts"][1]["bundles"][0]["step_running"] = "yes"; }))
          == "rollouts[1].bundles[0]: step_running is not true or false");
    CHECK(parse_error(edited([](nlohmann::json& doc) { doc["rollouts"][0]["bundles"][0].erase("retry_at"); }))
          == "rollouts[0].bundles[0]: retry_at is missing");
    CHECK_THAT(
        parse_error(edited([](nlohmann::json& doc) { doc["rollouts"][0]["bundles"][0]["since"] = "yesterday"; })),
        Catch::StartsWith("rollouts[0].bundles[0]: since "));
    CHECK_THAT(parse_error(edited([](nlohmann::json& doc) { doc["rollouts"][0]["bundles"][0]["id"] = "abc"; })),
               Catch::StartsWith("rollouts[0].bundles[0]: id "));
    CHECK(parse_error(edited([](nlohmann::json& doc) { doc["rollouts"][0]["bundles"] = "none"; }))
          == "rollouts[0]: bundles is not an array");
    CHECK(parse_error(edited([](nlohmann::json& doc) { doc["reboot"]["deferrals_used"] = 1.5; }))
          == "reboot: deferrals_used is not a non-negative integer");
    CHECK(parse_error(edited([](nlohmann::json& doc) { doc["reboot"] = 3; }))
          == "reboot: requested is inside something that is not an object");
    CHECK(parse_error(edited([](nlohmann::json& doc) { doc["baseline"][1]["digest"] = 5; }))
          == "baseline[1]: digest is not a string");
    CHECK_THAT(parse_error(edited([](nlohmann::json& doc) { doc["drift"][0]["bundle"] = "zz"; })),
               Catch::StartsWith("drift[0]: bundle "));
    CHECK(parse_error(edited([](nlohmann::json& doc) { doc["drift_checked"] = true; }))
          == "drift_checked is not a string");
    CHECK(parse_error(edited([](nlohmann::json& doc) { doc["control_sequences"]["2026-11-B"] = "7"; }))
          == "control_sequences has a value that is not an integer");
    CHECK(parse_error(edited([](nlohmann::json& doc) { doc["manifest_versions"] = nlohmann::json::array(); }))
          == "manifest_versions is not an object");
}

TEST_CASE("journal: a wrong format number is an error naming the file and the format", "[agent][journal]") {
    // Written by another agent version: refuse rather than misread.
    TempDir dir;
    const auto path = dir / "journal.json";
    write_text(path, edited([](nlohmann::json& doc) { doc["format"] = 2; }));
    auto journal = Journal::open(path);
    REQUIRE_FALSE(journal);
    CHECK(journal.error().is(Errc::parse));
    CHECK(journal.error().message() == path.string() + ": format 2 is not 1 (written by another agent version)");
    CHECK(parse_error(edited([](nlohmann::json& doc) { doc.erase("format"); })) == "format is missing");
    CHECK(parse_error(edited([](nlohmann::json& doc) { doc["format"] = "1"; }))
          == "format is not a non-negative integer");
}

TEST_CASE("journal: a failed commit keeps the old state", "[agent][journal]") {
    // The journal path became a directory (rename over it fails even for
    // root): the error names the journal, the in-memory state stays what is on disk.
    TempDir dir;
    const auto good = dir / "good.json";
    auto kept = Journal::open(good);
    REQUIRE(kept);
    REQUIRE(kept->commit(full_state()));
    // Replace the journal file by a non-empty directory: the rename fails.
    std::filesystem::remove(good);
    std::filesystem::create_directories(good / "blocker");
    JournalState next = full_state();
    next.status_sequence = 99;
    auto status = kept->commit(next);
    REQUIRE_FALSE(status);
    CHECK_THAT(status.error().message(), Catch::StartsWith("journal " + good.string() + ": "));
    CHECK(kept->state() == full_state());
    CHECK(std::filesystem::is_directory(good));
}

TEST_CASE("journal: a journal path that is a directory cannot be opened", "[agent][journal]") {
    // Not mistaken for a missing journal: the agent must not start empty.
    TempDir dir;
    std::filesystem::create_directory(dir / "journal.json");
    auto journal = Journal::open(dir / "journal.json");
    REQUIRE_FALSE(journal);
    CHECK_THAT(journal.error().message(), Catch::StartsWith((dir / "journal.json").string() + ": "));
}

TEST_CASE("journal: a commit into a missing directory fails and keeps the old state", "[agent][journal]") {
    // The state directory vanished: nothing is written, nothing is forgotten.
    TempDir dir;
    const auto sub = dir / "state";
    std::filesystem::create_directory(sub);
    auto journal = Journal::open(sub / "journal.json");
    REQUIRE(journal);
    REQUIRE(journal->commit(full_state()));
    std::filesystem::remove_all(sub);
    JournalState next;
    next.status_sequence = 1;
    auto status = journal->commit(next);
    REQUIRE_FALSE(status);
    CHECK_THAT(status.error().message(), Catch::Contains((sub / "journal.json").string()));
    CHECK(journal->state() == full_state());
    CHECK_FALSE(std::filesystem::exists(sub));
}

TEST_CASE("journal: crash_point does nothing unless PATCHWAVE_CRASH_AT names it", "[agent][journal]") {
    // Unset, and set to a different point: the process carries on. The
    // matching case (SIGKILL) is exercised by the process tests.
    const char* saved = std::getenv("PATCHWAVE_CRASH_AT");
    const std::string saved_value = saved ? saved : "";
    ::unsetenv("PATCHWAVE_CRASH_AT");
    crash_point("after-commit:installing/install");
    ::setenv("PATCHWAVE_CRASH_AT", "after-commit:installing/verify", 1);
    crash_point("after-commit:installing/install");
    crash_point("after-commit:installing/verif");
    crash_point("");
    if (saved)
        ::setenv("PATCHWAVE_CRASH_AT", saved_value.c_str(), 1);
    else
        ::unsetenv("PATCHWAVE_CRASH_AT");
    SUCCEED("still alive");
}
