#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "document_fixtures.hpp"
#include "rollout/refusal.hpp"
#include "rollout/status_record.hpp"

using namespace patchwave;
using namespace patchwave::rollout;
using namespace patchwave::rollout::testing;

namespace {

StatusRecord quiet_status() {
    StatusRecord record;
    record.agent = test_key(60).public_key().id();
    record.sequence = 4;
    record.boot_id = "boot-1";
    record.time = at("2026-11-23T10:00:00Z");
    return record;
}

Refusal forged_manifest() {
    return {"manifest demo-2026-11 v3", "manifest: release role: 0 of 1 required signatures (1 by unknown keys)",
            at("2026-11-23T09:00:00Z"), at("2026-11-23T09:05:00Z"), 7};
}

std::string parse_error(const nlohmann::json& document) {
    auto record = StatusRecord::parse_json(document.dump());
    REQUIRE_FALSE(record);
    return record.error().message();
}

}  // namespace

TEST_CASE("status: refusals round-trip under \"refused\"", "[rollout]") {
    // Subject, reason, first, last and count survive, in order.
    StatusRecord record = quiet_status();
    Refusal bundle{bundle_subject(bundle_id(7), "demo-2026-11"), "bundle \"x\" 1 (070707070707): 1 of 2 required approvals",
                   at("2026-11-23T09:10:00Z"), at("2026-11-23T09:10:00Z"), 1};
    record.refused = {forged_manifest(), bundle};
    const std::string json = record.to_json();
    auto parsed = StatusRecord::parse_json(json);
    REQUIRE(parsed);
    CHECK(*parsed == record);
    CHECK(parsed->to_json() == json);
    const auto document = nlohmann::json::parse(json);
    CHECK(document["refused"][0]["subject"] == "manifest demo-2026-11 v3");
    CHECK(document["refused"][0]["count"] == 7);
    CHECK(document["refused"][1]["last"] == "2026-11-23T09:10:00Z");
}

TEST_CASE("status: no refusals, no \"refused\" key, and older statuses parse", "[rollout]") {
    // An orchestrator from before the field refuses unknown keys: an empty list is left out.
    const StatusRecord record = quiet_status();
    const auto document = nlohmann::json::parse(record.to_json());
    CHECK_FALSE(document.contains("refused"));
    auto parsed = StatusRecord::parse_json(document.dump());
    REQUIRE(parsed);
    CHECK(parsed->refused.empty());
    auto empty = document;
    empty["refused"] = nlohmann::json::array();
    auto with_empty = StatusRecord::parse_json(empty.dump());
    REQUIRE(with_empty);
    CHECK(with_empty->refused.empty());
}

TEST_CASE("status: malformed refusals are refused with the field named", "[rollout]") {
    // Over 16 entries, an empty subject, last before first, a zero count, unknown fields, null.
    StatusRecord record = quiet_status();
    record.refused = {forged_manifest()};
    const auto good = nlohmann::json::parse(record.to_json());

    auto many = good;
    for (int i = 0; i < 16; ++i) many["refused"].push_back(many["refused"][0]);
    auto too_many = StatusRecord::parse_json(many.dump());
    REQUIRE_FALSE(too_many);
    CHECK(too_many.error().is(Errc::limit));
    CHECK(too_many.error().message() == "status record: refused: 17 entries, more than 16");

    auto no_subject = good;
    no_subject["refused"][0]["subject"] = "";
    CHECK(parse_error(no_subject) == "status record: refused[0].subject: must not be empty");
    auto backwards = good;
    backwards["refused"][0]["last"] = "2026-11-23T08:00:00Z";
    CHECK(parse_error(backwards) ==
          "status record: refused[0].last: 2026-11-23T08:00:00Z is before first 2026-11-23T09:00:00Z");
    auto zero = good;
    zero["refused"][0]["count"] = 0;
    CHECK_THAT(parse_error(zero), Catch::StartsWith("status record: refused[0].count:"));
    auto extra = good;
    extra["refused"][0]["host"] = "web-01";
    CHECK(parse_error(extra) == "status record: refused[0].host: unknown field");
    auto null = good;
    null["refused"] = nullptr;
    CHECK(parse_error(null) == "status record: refused: expected an array");
    auto long_reason = good;
    long_reason["refused"][0]["reason"] = std::string(Refusal::kMaxReasonLength + 1, 'x');
    CHECK_THAT(parse_error(long_reason), Catch::StartsWith("status record: refused[0].reason:"));
}

TEST_CASE("refusal subjects name their rollout", "[rollout]") {
    // Manifest, control and bundle subjects give the rollout back; others give none.
    CHECK(manifest_subject("demo-2026-11", 3) == "manifest demo-2026-11 v3");
    CHECK(control_subject("demo-2026-11", 4) == "control demo-2026-11 seq 4");
    CHECK(bundle_subject(bundle_id(7), "r1") == "bundle " + short_hex(bundle_id(7)) + " of r1");
    CHECK(subject_rollout("manifest demo-2026-11 v3") == "demo-2026-11");
    CHECK(subject_rollout("control demo-2026-11 seq 4") == "demo-2026-11");
    CHECK(subject_rollout(bundle_subject(bundle_id(7), "r1")) == "r1");
    CHECK_FALSE(subject_rollout("root v3"));
    CHECK_FALSE(subject_rollout("certificate 0a0b0c0d0e0f"));
    CHECK_FALSE(subject_rollout(""));
}

TEST_CASE("a refusal concerns a rollout by its id or one of its bundles", "[rollout]") {
    // The filter of `audit --rollout`: the rollout's own records, and its bundles under any rollout.
    const Manifest manifest = sample_manifest();  // bundle_id(7) and bundle_id(8)
    CHECK(subject_concerns(manifest_subject(manifest.rollout_id, 9), manifest));
    CHECK(subject_concerns(control_subject(manifest.rollout_id, 2), manifest));
    CHECK(subject_concerns(bundle_subject(bundle_id(8), "another-rollout"), manifest));
    CHECK_FALSE(subject_concerns(bundle_subject(bundle_id(9), "another-rollout"), manifest));
    CHECK_FALSE(subject_concerns(manifest_subject("another-rollout", 1), manifest));
    CHECK_FALSE(subject_concerns("root v2", manifest));
    CHECK_FALSE(subject_concerns("bundle ZZ of x", manifest));
}
