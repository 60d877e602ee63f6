#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "document_fixtures.hpp"
#include "rollout/control_record.hpp"
#include "rollout/status_record.hpp"

using namespace patchwave;
using namespace patchwave::rollout;
using namespace patchwave::rollout::testing;

namespace {

ControlRecord sample_record() {
    ControlRecord record;
    record.rollout_id = "2026-11-B";
    record.sequence = 4;
    record.action = ControlAction::advance;
    record.open_wave = 2;
    record.reason = "canary looks good";
    record.operator_name = "alice";
    record.time = at("2026-11-25T09:30:00Z");
    return record;
}

std::string parse_error(const std::string& body) {
    auto record = ControlRecord::parse_json(body);
    REQUIRE_FALSE(record);
    return record.error().message();
}

}  // namespace

TEST_CASE("control: JSON round-trips exactly for every action", "[rollout]") {
    // The exact text for one record; every action survives the round trip.
    const ControlRecord record = sample_record();
    const std::string json = record.to_json();
    CHECK(json == "{\"action\":\"advance\",\"open_wave\":2,\"operator\":\"alice\",\"reason\":\"canary looks good\","
                  "\"rollout_id\":\"2026-11-B\",\"sequence\":4,\"time\":\"2026-11-25T09:30:00Z\"}");
    for (ControlAction action : {ControlAction::pause, ControlAction::resume, ControlAction::advance,
                                 ControlAction::abort}) {
        ControlRecord copy = record;
        copy.action = action;
        auto parsed = ControlRecord::parse_json(copy.to_json());
        REQUIRE(parsed);
        CHECK(*parsed == copy);
        CHECK(parsed->to_json() == copy.to_json());
        CHECK(*control_action_from_string(to_string(action)) == action);
    }
    CHECK(control_action_from_string("stop").error().message() == "\"stop\" is not pause, resume, advance or abort");
}

TEST_CASE("control: malformed records are refused with the field named", "[rollout]") {
    // Sequence 0, unknown action, too-high wave, empty operator, unknown and duplicate fields.
    const auto good = nlohmann::json::parse(sample_record().to_json());
    auto zero = good;
    zero["sequence"] = 0;
    CHECK(parse_error(zero.dump()) == "control record: sequence: 0 is not 1-18446744073709551615");
    auto action = good;
    action["action"] = "stop";
    CHECK(parse_error(action.dump()) == "control record: action: \"stop\" is not pause, resume, advance or abort");
    auto wave = good;
    wave["open_wave"] = 32;
    CHECK(parse_error(wave.dump()) == "control record: open_wave: 32 is not 0-31");
    auto nobody = good;
    nobody["operator"] = "";
    CHECK(parse_error(nobody.dump()) == "control record: operator: must not be empty");
    auto extra = good;
    extra["wave"] = 1;
    CHECK(parse_error(extra.dump()) == "control record: wave: unknown field");
    CHECK(parse_error("{\"sequence\":9," + good.dump().substr(1)) ==
          "control record: invalid JSON: duplicate key \"sequence\"");
    auto negative = good;
    negative["sequence"] = -4;
    CHECK(parse_error(negative.dump()) == "control record: sequence: expected a non-negative integer");
    auto control = good;
    control["reason"] = "line\x01";
    CHECK(parse_error(control.dump()) == "control record: reason: contains a control character");
}

TEST_CASE("control: an operator-signed record verifies", "[rollout]") {
    // One operator key is the threshold; sequence above the last seen.
    TestTrust trust;
    auto verified = verify_control(sample_record().sign(trust.operators[1]), trust.trust, "2026-11-B", 3);
    REQUIRE(verified);
    CHECK(*verified == sample_record());
    CHECK(verified->paused() == false);
}

TEST_CASE("control: replays and older sequence numbers are refused", "[rollout]") {
    // #4 after #4 or #7 is a replay.
    TestTrust trust;
    const crypto::Envelope envelope = sample_record().sign(trust.operators[0]);
    auto replay = verify_control(envelope, trust.trust, "2026-11-B", 4);
    REQUIRE_FALSE(replay);
    CHECK(replay.error().is(Errc::untrusted));
    CHECK(replay.error().message() ==
          "control record \"2026-11-B\" #4: sequence is not above the #4 already seen (replay refused)");
    CHECK_FALSE(verify_control(envelope, trust.trust, "2026-11-B", 7));
}

TEST_CASE("control: a record for another rollout is refused", "[rollout]") {
    // A valid pause of rollout A must not pause rollout B.
    TestTrust trust;
    auto verified = verify_control(sample_record().sign(trust.operators[0]), trust.trust, "2026-12-A", 0);
    REQUIRE_FALSE(verified);
    CHECK(verified.error().message() == "control record \"2026-11-B\" #4: is for another rollout than \"2026-12-A\"");
}

TEST_CASE("control: wrong signers and wrong types are refused", "[rollout]") {
    // A release key is not an operator; a status record is not a control record even if the body would parse.
    TestTrust trust;
    auto by_release = verify_control(sample_record().sign(trust.release[0]), trust.trust, "2026-11-B", 0);
    REQUIRE_FALSE(by_release);
    CHECK(by_release.error().message() ==
          "control record for \"2026-11-B\": operator: 0 of 1 required signatures (1 by unknown keys)");

    crypto::Envelope as_status{std::string(StatusRecord::kEnvelopeType), sample_record().to_json(), {}};
    as_status.sign(trust.operators[0]);
    auto wrong_type = verify_control(as_status, trust.trust, "2026-11-B", 0);
    REQUIRE_FALSE(wrong_type);
    CHECK(wrong_type.error().is(Errc::untrusted));
    CHECK(wrong_type.error().message() ==
          "control record for \"2026-11-B\": expected a \"patchwave.control\" document, got \"patchwave.status\"");
    // Changing only the type label breaks the signature: the type is signed too.
    as_status.type = std::string(ControlRecord::kEnvelopeType);
    auto relabelled = verify_control(as_status, trust.trust, "2026-11-B", 0);
    REQUIRE_FALSE(relabelled);
    CHECK(relabelled.error().message() ==
          "control record for \"2026-11-B\": operator: 0 of 1 required signatures (1 invalid)");
}

TEST_CASE("control: a signed but malformed record is refused as untrusted", "[rollout]") {
    // The parser's reason appears once, under the record's name.
    TestTrust trust;
    crypto::Envelope envelope{std::string(ControlRecord::kEnvelopeType), "{}", {}};
    envelope.sign(trust.operators[0]);
    auto verified = verify_control(envelope, trust.trust, "2026-11-B", 0);
    REQUIRE_FALSE(verified);
    CHECK(verified.error().is(Errc::untrusted));
    CHECK(verified.error().message() == "control record for \"2026-11-B\": rollout_id: missing");
}
