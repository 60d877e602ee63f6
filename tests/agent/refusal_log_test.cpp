#include "agent/refusal_log.hpp"

#include <catch2/catch.hpp>

using namespace patchwave;
using namespace patchwave::agent;

namespace {

Timestamp at(std::string_view text) {
    return *parse_timestamp(text);
}

const Timestamp kT0 = at("2026-11-23T10:00:00Z");

}  // namespace

TEST_CASE("refusal log: the same subject and reason is counted, not repeated", "[agent][refusals]") {
    // A forged manifest pushed three times is one entry with count 3, first and last kept.
    RefusalLog log;
    CHECK(log.note("manifest r1 v3", "signed by an unknown key", kT0) == RefusalLog::Noted::added);
    CHECK(log.note("manifest r1 v3", "signed by an unknown key", kT0 + std::chrono::seconds(5)) ==
          RefusalLog::Noted::repeated);
    CHECK(log.note("manifest r1 v3", "signed by an unknown key", kT0 + std::chrono::seconds(9)) ==
          RefusalLog::Noted::repeated);
    REQUIRE(log.entries().size() == 1);
    CHECK(log.entries()[0].count == 3);
    CHECK(log.entries()[0].first == kT0);
    CHECK(log.entries()[0].last == kT0 + std::chrono::seconds(9));
    // Another reason for the same subject is another entry.
    CHECK(log.note("manifest r1 v3", "expired", kT0) == RefusalLog::Noted::added);
    CHECK(log.entries().size() == 2);
}

TEST_CASE("refusal log: note_once leaves a known refusal as it was", "[agent][refusals]") {
    // Re-derived refusals (a bundle's approvals, at every restore) are counted once.
    RefusalLog log;
    CHECK(log.note_once("bundle 0a0a0a0a0a0a of r1", "1 of 2 approvals", kT0) == RefusalLog::Noted::added);
    CHECK(log.note_once("bundle 0a0a0a0a0a0a of r1", "1 of 2 approvals", kT0 + std::chrono::hours(1)) ==
          RefusalLog::Noted::known);
    REQUIRE(log.entries().size() == 1);
    CHECK(log.entries()[0].count == 1);
    CHECK(log.entries()[0].last == kT0);
}

TEST_CASE("refusal log: at most 16 entries, the least recently seen go first", "[agent][refusals]") {
    // 20 subjects, the first one seen again late: it survives, subjects 1-4 are gone.
    RefusalLog log;
    for (int i = 0; i < 20; ++i) {
        log.note("manifest r" + std::to_string(i) + " v1", "bad", kT0 + std::chrono::seconds(i));
        if (i == 10) log.note("manifest r0 v1", "bad", kT0 + std::chrono::seconds(i));
    }
    REQUIRE(log.entries().size() == RefusalLog::kMaxEntries);
    CHECK(log.entries().front().subject == "manifest r5 v1");
    CHECK(log.entries().back().subject == "manifest r19 v1");
    const bool kept_r0 = std::any_of(log.entries().begin(), log.entries().end(),
                                     [](const rollout::Refusal& entry) { return entry.subject == "manifest r0 v1"; });
    CHECK(kept_r0);
}

TEST_CASE("refusal log: long and multi-line messages are fitted to the status record", "[agent][refusals]") {
    // Reasons are cut at 1024 bytes on a character boundary; newlines become spaces.
    RefusalLog log;
    std::string reason = "line one\nline two\t";
    while (reason.size() < 2000) reason += "\xc3\xa9";  // é, two bytes each
    log.note(std::string(300, 's'), reason, kT0);
    log.note("", "no subject", kT0);
    REQUIRE(log.entries().size() == 2);
    const auto& entry = log.entries()[0];
    CHECK(entry.subject.size() == rollout::Refusal::kMaxSubjectLength);
    CHECK(entry.reason.size() <= rollout::Refusal::kMaxReasonLength);
    CHECK(entry.reason.size() >= rollout::Refusal::kMaxReasonLength - 1);
    CHECK(entry.reason.starts_with("line one line two "));
    CHECK(entry.reason.ends_with("\xc3\xa9"));
    CHECK(log.entries()[1].subject == "(unnamed)");
    // What the log holds is what a status record accepts.
    rollout::StatusRecord status;
    status.agent.fill(1);
    status.boot_id = "b";
    status.time = kT0;
    status.refused = log.entries();
    auto parsed = rollout::StatusRecord::parse_json(status.to_json());
    REQUIRE(parsed);
    CHECK(parsed->refused == log.entries());
}

TEST_CASE("refusal log: saved and loaded as JSON", "[agent][refusals]") {
    // The file round-trips; a broken one is an error naming the field.
    RefusalLog log;
    log.note("control r1 seq 9", "operator role: 0 of 1", kT0);
    log.note("control r1 seq 9", "operator role: 0 of 1", kT0 + std::chrono::minutes(1));
    log.note_once("bundle 0b0b0b0b0b0b of r2", "held", kT0);
    auto loaded = RefusalLog::from_json(log.to_json());
    REQUIRE(loaded);
    CHECK(loaded->entries() == log.entries());
    auto broken = RefusalLog::from_json(R"({"format":1,"refused":[{"subject":"x"}]})");
    REQUIRE_FALSE(broken);
    CHECK_THAT(broken.error().message(), Catch::StartsWith("refused[0]."));
    CHECK_FALSE(RefusalLog::from_json(R"({"format":2,"refused":[]})"));
    CHECK_FALSE(RefusalLog::from_json("not json"));
}
