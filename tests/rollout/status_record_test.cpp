#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "document_fixtures.hpp"
#include "rollout/control_record.hpp"
#include "rollout/status_record.hpp"

using namespace patchwave;
using namespace patchwave::rollout;
using namespace patchwave::rollout::testing;

namespace {

AgentCertificate certificate_for(const crypto::PrivateKey& agent, std::string host) {
    AgentCertificate certificate;
    certificate.agent_key = agent.public_key();
    certificate.host = std::move(host);
    certificate.labels = {{"ring", "prod"}};
    certificate.issued = at("2026-01-01T00:00:00Z");
    certificate.expires = at("2027-01-01T00:00:00Z");
    return certificate;
}

StatusRecord sample_status(const crypto::PrivateKey& agent) {
    StatusRecord record;
    record.agent = agent.public_key().id();
    record.sequence = 12;
    record.boot_id = "5f0c2e1a-8d4b-4a8e-9b9e-2f6c1d7a3b10";
    record.time = at("2026-11-25T10:00:00Z");
    RolloutStatus rollout;
    rollout.rollout_id = "2026-11-B";
    rollout.manifest_version = 3;
    BundleStatus installed;
    installed.bundle = bundle_id(7);
    installed.state = HostState::reboot_pending;
    installed.since = at("2026-11-25T09:00:00Z");
    installed.bytes_done = 8'000'000;
    installed.bytes_total = 8'000'000;
    installed.attempts = 1;
    BundleStatus failed;
    failed.bundle = bundle_id(8);
    failed.state = HostState::failed;
    failed.since = at("2026-11-25T09:10:00Z");
    failed.failed_step = "verify";
    failed.failure_reason = "exit 3: service did not come back\nlast line";
    failed.rolled_back = true;
    failed.attempts = 2;
    rollout.bundles = {installed, failed};
    record.rollouts = {rollout};
    record.reboot.pending = true;
    record.reboot.pending_since = at("2026-11-25T09:00:00Z");
    record.reboot.deadline = at("2026-11-27T09:00:00Z");
    record.reboot.scheduled_for = at("2026-11-29T02:00:00Z");
    record.reboot.deferrals_used = 1;
    DriftFinding drift;
    drift.path = "/etc/ssh/sshd_config";
    drift.expected = std::string(64, 'a');
    drift.actual = "absent";
    drift.bundle = bundle_id(7);
    drift.detected = at("2026-11-25T09:55:00Z");
    DriftFinding unowned = drift;
    unowned.path = "/etc/hosts";
    unowned.bundle.reset();
    unowned.expected = "absent";
    unowned.actual = std::string(64, 'b');
    record.drift = {drift, unowned};
    return record;
}

std::string parse_error(const std::string& body) {
    auto record = StatusRecord::parse_json(body);
    REQUIRE_FALSE(record);
    return record.error().message();
}

}  // namespace

TEST_CASE("status: JSON round-trips exactly", "[rollout]") {
    // Every field, optional times and drift bundles present or absent, survives the round trip.
    const auto agent = test_key(60);
    const StatusRecord record = sample_status(agent);
    const std::string json = record.to_json();
    auto parsed = StatusRecord::parse_json(json);
    REQUIRE(parsed);
    CHECK(*parsed == record);
    CHECK(parsed->to_json() == json);
    const auto doc = nlohmann::json::parse(json);
    CHECK(doc["rollouts"][0]["bundles"][0]["state"] == "reboot-pending");
    CHECK(doc["reboot"]["scheduled_for"] == "2026-11-29T02:00:00Z");
    CHECK_FALSE(doc["drift"][1].contains("bundle"));

    StatusRecord quiet = record;
    quiet.reboot = RebootStatus{};
    quiet.drift.clear();
    quiet.rollouts.clear();
    const std::string quiet_json = quiet.to_json();
    CHECK(quiet_json == "{\"agent\":\"" + to_hex(agent.public_key().id()) +
                            "\",\"boot_id\":\"5f0c2e1a-8d4b-4a8e-9b9e-2f6c1d7a3b10\",\"drift\":[],"
                            "\"reboot\":{\"deferrals_used\":0,\"pending\":false},\"rollouts\":[],\"sequence\":12,"
                            "\"time\":\"2026-11-25T10:00:00Z\"}");
    auto quiet_parsed = StatusRecord::parse_json(quiet_json);
    REQUIRE(quiet_parsed);
    CHECK(*quiet_parsed == quiet);
}

TEST_CASE("status: malformed records are refused with the field named", "[rollout]") {
    // Unknown states, bad fingerprints, repeats, relative paths, unknown and duplicate fields.
    const auto good = nlohmann::json::parse(sample_status(test_key(60)).to_json());
    auto state = good;
    state["rollouts"][0]["bundles"][1]["state"] = "broken";
    CHECK_THAT(parse_error(state.dump()),
               Catch::StartsWith("status record: rollouts[0].bundles[1].state: \"broken\" is not a host state"));
    auto fingerprint = good;
    fingerprint["drift"][0]["actual"] = "deleted";
    CHECK(parse_error(fingerprint.dump()) ==
          "status record: drift[0].actual: \"deleted\" is neither 64 lower-case hex characters nor \"absent\"");
    auto relative = good;
    relative["drift"][0]["path"] = "etc/hosts";
    CHECK(parse_error(relative.dump()) == "status record: drift[0].path: \"etc/hosts\" is not absolute");
    auto repeated = good;
    repeated["rollouts"][0]["bundles"][1]["bundle"] = repeated["rollouts"][0]["bundles"][0]["bundle"];
    CHECK(parse_error(repeated.dump()) ==
          "status record: rollouts[0].bundles[1].bundle: " + to_hex(bundle_id(7)) + " is listed twice");
    auto twice = good;
    twice["rollouts"].push_back(twice["rollouts"][0]);
    CHECK(parse_error(twice.dump()) == "status record: rollouts[1].rollout_id: \"2026-11-B\" is listed twice");
    auto extra = good;
    extra["reboot"]["when"] = "soon";
    CHECK(parse_error(extra.dump()) == "status record: reboot.when: unknown field");
    auto null_time = good;
    null_time["reboot"]["deadline"] = nullptr;
    CHECK(parse_error(null_time.dump()) == "status record: reboot.deadline: expected a string");
    auto no_boot = good;
    no_boot["boot_id"] = "";
    CHECK(parse_error(no_boot.dump()) == "status record: boot_id: must not be empty");
    CHECK(parse_error("{\"sequence\":1," + good.dump().substr(1)) ==
          "status record: invalid JSON: duplicate key \"sequence\"");
}

TEST_CASE("status: count and size caps are enforced", "[rollout]") {
    // More than 64 rollouts or 256 drift findings, or a body over 64 KiB, is Errc::limit.
    const StatusRecord record = sample_status(test_key(60));
    auto many = nlohmann::json::parse(record.to_json());
    for (int i = 0; i < 65; ++i) {
        auto rollout = many["rollouts"][0];
        rollout["rollout_id"] = "r" + std::to_string(i);
        rollout["bundles"] = nlohmann::json::array();
        many["rollouts"].push_back(rollout);
    }
    auto rollouts = StatusRecord::parse_json(many.dump());
    REQUIRE_FALSE(rollouts);
    CHECK(rollouts.error().is(Errc::limit));
    CHECK(rollouts.error().message() == "status record: rollouts: 66 entries, more than 64");

    StatusRecord drifting = record;
    drifting.drift.assign(257, record.drift[1]);
    auto drift = StatusRecord::parse_json(drifting.to_json());
    REQUIRE_FALSE(drift);
    CHECK(drift.error().is(Errc::limit));

    StatusRecord huge = record;
    huge.boot_id = std::string(StatusRecord::kMaxBodySize, 'x');
    auto big = StatusRecord::parse_json(huge.to_json());
    REQUIRE_FALSE(big);
    CHECK(big.error().is(Errc::limit));
    CHECK_THAT(big.error().message(), Catch::EndsWith("is over the 64 KiB cap"));
}

TEST_CASE("status: a record signed by its own agent verifies", "[rollout]") {
    // The certificate's agent key signed it, the agent id matches, the sequence rises.
    const auto agent = test_key(60);
    const StatusRecord record = sample_status(agent);
    auto verified = verify_status(record.sign(agent), certificate_for(agent, "web-01"), 11);
    REQUIRE(verified);
    CHECK(*verified == record);
}

TEST_CASE("status: nobody can report for another host", "[rollout]") {
    // A neighbour's key, or a body naming another agent, is refused.
    const auto agent = test_key(60);
    const auto neighbour = test_key(61);
    const AgentCertificate certificate = certificate_for(agent, "web-01");
    auto forged = verify_status(sample_status(agent).sign(neighbour), certificate, 0);
    REQUIRE_FALSE(forged);
    CHECK(forged.error().is(Errc::untrusted));
    CHECK(forged.error().message() ==
          "status record from \"web-01\": agent key: 0 of 1 required signatures (1 by unknown keys)");

    // The neighbour signs a record claiming to be itself, presented with our certificate:
    // signature fails. With its own certificate but our agent id in the body: id mismatch.
    auto impersonation = verify_status(sample_status(agent).sign(neighbour), certificate_for(neighbour, "web-02"), 0);
    REQUIRE_FALSE(impersonation);
    CHECK(impersonation.error().message() == "status record from \"web-02\" #12: names agent " +
                                                 short_hex(agent.public_key().id()) +
                                                 ", not the certificate's agent " +
                                                 short_hex(neighbour.public_key().id()));
}

TEST_CASE("status: replays and older sequence numbers are refused", "[rollout]") {
    // #12 after #12 or #20 is refused.
    const auto agent = test_key(60);
    const crypto::Envelope envelope = sample_status(agent).sign(agent);
    auto replay = verify_status(envelope, certificate_for(agent, "web-01"), 12);
    REQUIRE_FALSE(replay);
    CHECK(replay.error().message() ==
          "status record from \"web-01\" #12: sequence is not above the #12 already seen (replay refused)");
    CHECK_FALSE(verify_status(envelope, certificate_for(agent, "web-01"), 20));
}

TEST_CASE("status: a status envelope is not a control record, and back", "[rollout]") {
    // Domain separation both ways: the type is checked before anything else.
    TestTrust trust;
    const auto agent = test_key(60);
    auto as_control = verify_control(sample_status(agent).sign(trust.operators[0]), trust.trust, "2026-11-B", 0);
    REQUIRE_FALSE(as_control);
    CHECK(as_control.error().message() ==
          "control record for \"2026-11-B\": expected a \"patchwave.control\" document, got \"patchwave.status\"");
    ControlRecord record;
    record.rollout_id = "2026-11-B";
    record.operator_name = "alice";
    auto as_status = verify_status(record.sign(agent), certificate_for(agent, "web-01"), 0);
    REQUIRE_FALSE(as_status);
    CHECK(as_status.error().message() ==
          "status record from \"web-01\": expected a \"patchwave.status\" document, got \"patchwave.control\"");
}
