#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "document_fixtures.hpp"
#include "rollout/control_record.hpp"
#include "rollout/manifest.hpp"

using namespace patchwave;
using namespace patchwave::rollout;
using namespace patchwave::rollout::testing;

namespace {

const Timestamp kNow = at("2026-11-25T00:00:00Z");

std::string parse_error(const std::string& body) {
    auto manifest = Manifest::parse_json(body);
    REQUIRE_FALSE(manifest);
    return manifest.error().message();
}

// The sample manifest with `count` approvals of its first bundle, by approvers 0..count-1.
Manifest with_approvals(const TestTrust& trust, std::size_t count) {
    Manifest manifest = sample_manifest();
    for (std::size_t i = 0; i < count; ++i) {
        manifest.bundles[0].approvals.push_back(
            sample_approval("CHG-" + std::to_string(i)).sign(trust.approvers[i]));
    }
    return manifest;
}

nlohmann::json json_of(const Manifest& manifest) { return nlohmann::json::parse(manifest.to_json()); }

}  // namespace

TEST_CASE("manifest: JSON round-trips exactly, approvals included", "[rollout]") {
    // parse(to_json(m)) == m, and the text is stable through a second round.
    TestTrust trust;
    const Manifest manifest = with_approvals(trust, 2);
    const std::string json = manifest.to_json();
    auto parsed = Manifest::parse_json(json);
    REQUIRE(parsed);
    CHECK(*parsed == manifest);
    CHECK(parsed->to_json() == json);
    REQUIRE(parsed->bundles[0].approvals.size() == 2);
    CHECK(parsed->bundles[0].approvals[1].body == manifest.bundles[0].approvals[1].body);
    CHECK(parsed->bundles[0].approvals[1].signatures == manifest.bundles[0].approvals[1].signatures);
    // Field forms: durations, percentages, optional percent left out when unset.
    const auto doc = nlohmann::json::parse(json);
    CHECK(doc["reboot_deadline"] == "2d");
    CHECK(doc["not_before"] == "2026-11-24T01:00:00Z");
    CHECK(doc["waves"][1]["success_threshold"] == "95%");
    CHECK(doc["waves"][1]["failure_threshold"] == "2.5%");
    CHECK(doc["waves"][1]["percent"] == 5);
    CHECK_FALSE(doc["waves"][0].contains("percent"));
    CHECK(doc["bundles"][1]["triage"] == "hold");
}

TEST_CASE("manifest: without not_before and with an empty selector it round-trips too", "[rollout]") {
    // An absent optional field stays absent, not null.
    Manifest manifest = sample_manifest();
    manifest.not_before.reset();
    manifest.waves[2].select.clear();  // selects every host: written as {}, not null
    const std::string json = manifest.to_json();
    CHECK(json.find("not_before") == std::string::npos);
    CHECK(nlohmann::json::parse(json)["waves"][2]["select"] == nlohmann::json::object());
    auto parsed = Manifest::parse_json(json);
    REQUIRE(parsed);
    CHECK(*parsed == manifest);
}

TEST_CASE("manifest: malformed bodies are refused with the field named", "[rollout]") {
    // Duplicate keys, unknown fields, empty lists, repeats and inverted times are parse errors.
    const Manifest manifest = sample_manifest();
    const std::string json = manifest.to_json();
    CHECK(parse_error("{\"version\":1," + json.substr(1)) == "manifest: invalid JSON: duplicate key \"version\"");
    auto extra = json_of(manifest);
    extra["waves"][1]["sucess_threshold"] = "95%";
    CHECK(parse_error(extra.dump()) == "manifest: waves[1].sucess_threshold: unknown field");
    auto no_waves = json_of(manifest);
    no_waves["waves"] = nlohmann::json::array();
    CHECK(parse_error(no_waves.dump()) == "manifest: waves: at least one wave is required");
    auto no_bundles = json_of(manifest);
    no_bundles["bundles"] = nlohmann::json::array();
    CHECK(parse_error(no_bundles.dump()) == "manifest: bundles: at least one bundle is required");
    auto twice = json_of(manifest);
    twice["bundles"][1]["id"] = twice["bundles"][0]["id"];
    CHECK(parse_error(twice.dump()) == "manifest: bundles[1].id: " + to_hex(bundle_id(7)) + " is listed twice");
    auto same_name = json_of(manifest);
    same_name["waves"][2]["name"] = "test";
    CHECK(parse_error(same_name.dump()) == "manifest: waves[2].name: \"test\" is used by an earlier wave");
    auto inverted = json_of(manifest);
    inverted["not_before"] = "2027-01-01T00:00:00Z";
    CHECK(parse_error(inverted.dump()) ==
          "manifest: expires: 2026-12-24T00:00:00Z is not after not_before 2027-01-01T00:00:00Z");
    auto stale = json_of(manifest);
    stale["published"] = "2027-01-01T00:00:00Z";
    CHECK(parse_error(stale.dump()) ==
          "manifest: expires: 2026-12-24T00:00:00Z is not after published 2027-01-01T00:00:00Z");
    auto zero_version = json_of(manifest);
    zero_version["version"] = 0;
    CHECK(parse_error(zero_version.dump()) == "manifest: version: 0 is not 1-18446744073709551615");
    auto bad_percent = json_of(manifest);
    bad_percent["waves"][1]["percent"] = 0;
    CHECK(parse_error(bad_percent.dump()) == "manifest: waves[1].percent: 0 is not 1-100");
    auto bad_threshold = json_of(manifest);
    bad_threshold["waves"][1]["success_threshold"] = "120%";
    CHECK(parse_error(bad_threshold.dump()) == "manifest: waves[1].success_threshold: \"120%\" is not 0-100%");
    auto bad_triage = json_of(manifest);
    bad_triage["bundles"][0]["triage"] = "paused";
    CHECK(parse_error(bad_triage.dump()) == "manifest: bundles[0].triage: \"paused\" is not proceed, hold or cancelled");
    auto negative = json_of(manifest);
    negative["max_reboot_deferrals"] = -1;
    CHECK(parse_error(negative.dump()) == "manifest: max_reboot_deferrals: expected a non-negative integer");
    auto bad_id = json_of(manifest);
    bad_id["rollout_id"] = "a/b";
    CHECK(parse_error(bad_id.dump()) == "manifest: rollout_id: \"a/b\" is not a valid rollout id");
}

TEST_CASE("manifest: embedded approvals must be base64 envelopes", "[rollout]") {
    // Garbage, non-envelope bytes and oversized entries are refused with their index.
    auto doc = json_of(sample_manifest());
    doc["bundles"][0]["approvals"] = {"!!!"};
    CHECK(parse_error(doc.dump()) == "manifest: bundles[0].approvals[0]: invalid base64");
    doc["bundles"][0]["approvals"] = {crypto::base64_encode(std::vector<std::uint8_t>{1, 2, 3, 4})};
    CHECK(parse_error(doc.dump()) ==
          "manifest: bundles[0].approvals[0]: not a Patchwave envelope (bad magic or unsupported format version)");
    doc["bundles"][0]["approvals"] = {crypto::base64_encode(std::vector<std::uint8_t>(Manifest::kMaxApprovalEnvelopeSize + 3, 0))};
    auto too_big = Manifest::parse_json(doc.dump());
    REQUIRE_FALSE(too_big);
    CHECK(too_big.error().is(Errc::limit));
    CHECK(too_big.error().message() == "manifest: bundles[0].approvals[0]: approval envelope over the 32 KiB cap");
}

TEST_CASE("manifest: count caps are enforced", "[rollout]") {
    // More than 32 waves, 64 bundles or 32 approvals per bundle is Errc::limit.
    auto waves = json_of(sample_manifest());
    for (int i = 0; i < 30; ++i) {
        auto wave = waves["waves"][2];
        wave["name"] = "extra" + std::to_string(i);
        waves["waves"].push_back(wave);
    }
    auto parsed = Manifest::parse_json(waves.dump());
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().is(Errc::limit));
    CHECK(parsed.error().message() == "manifest: waves: 33 entries, more than 32");
    auto approvals = json_of(sample_manifest());
    approvals["bundles"][0]["approvals"] = std::vector<std::string>(33, "");
    CHECK(parse_error(approvals.dump()) == "manifest: bundles[0].approvals: 33 entries, more than 32");
    auto bundles = json_of(sample_manifest());
    bundles["bundles"] = std::vector<nlohmann::json>(65, bundles["bundles"][0]);
    CHECK(parse_error(bundles.dump()) == "manifest: bundles: 65 entries, more than 64");
}

TEST_CASE("manifest: a body over 256 KiB is refused", "[rollout]") {
    // The size cap is checked before the JSON is parsed.
    Manifest manifest = sample_manifest();
    manifest.bundles[0].name = std::string(Manifest::kMaxBodySize, 'n');
    auto parsed = Manifest::parse_json(manifest.to_json());
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().is(Errc::limit));
}

TEST_CASE("manifest: a release-signed manifest verifies", "[rollout]") {
    // Both release keys signed, not expired, version above the last seen: the manifest comes back.
    TestTrust trust;
    const Manifest manifest = with_approvals(trust, 3);
    auto verified = verify_manifest(trust.sign_release(manifest), trust.trust, kNow, 2);
    REQUIRE(verified);
    CHECK(*verified == manifest);
}

TEST_CASE("manifest: below-threshold signatures are refused before parsing", "[rollout]") {
    // One of two release keys is not enough, even with an unparseable body: signatures come first.
    TestTrust trust;
    auto one = verify_manifest(sample_manifest().sign(trust.release[0]), trust.trust, kNow, 0);
    REQUIRE_FALSE(one);
    CHECK(one.error().is(Errc::untrusted));
    CHECK(one.error().message() == "manifest: release: 1 of 2 required signatures");

    crypto::Envelope garbage{std::string(Manifest::kEnvelopeType), "not json", {}};
    garbage.sign(trust.release[0]);
    garbage.sign(trust.approvers[0]);
    auto unparsed = verify_manifest(garbage, trust.trust, kNow, 0);
    REQUIRE_FALSE(unparsed);
    CHECK(unparsed.error().message() == "manifest: release: 1 of 2 required signatures (1 by unknown keys)");

    crypto::Envelope doubled = sample_manifest().sign(trust.release[0]);
    doubled.signatures.push_back(doubled.signatures[0]);
    auto duplicate = verify_manifest(doubled, trust.trust, kNow, 0);
    REQUIRE_FALSE(duplicate);
    CHECK(duplicate.error().message() == "manifest: release: 1 of 2 required signatures (1 duplicate)");
}

TEST_CASE("manifest: a signed but malformed body is refused as untrusted", "[rollout]") {
    // Signature checks pass, then the parser's reason is reported under the manifest's name.
    TestTrust trust;
    crypto::Envelope envelope{std::string(Manifest::kEnvelopeType), "{\"rollout_id\":\"x\"}", {}};
    envelope.sign(trust.release[0]);
    envelope.sign(trust.release[1]);
    auto verified = verify_manifest(envelope, trust.trust, kNow, 0);
    REQUIRE_FALSE(verified);
    CHECK(verified.error().is(Errc::untrusted));
    CHECK(verified.error().message() == "manifest: version: missing");
}

TEST_CASE("manifest: other document types are refused (domain separation)", "[rollout]") {
    // A control record signed by the release keys is still not a manifest.
    TestTrust trust;
    ControlRecord record;
    record.rollout_id = "2026-11-B";
    record.operator_name = "alice";
    crypto::Envelope control = record.sign(trust.release[0]);
    control.sign(trust.release[1]);
    auto verified = verify_manifest(control, trust.trust, kNow, 0);
    REQUIRE_FALSE(verified);
    CHECK(verified.error().message() == "manifest: expected a \"patchwave.manifest\" document, got \"patchwave.control\"");
    // Relabelling the type breaks the signatures, which cover it.
    control.type = std::string(Manifest::kEnvelopeType);
    CHECK_FALSE(verify_manifest(control, trust.trust, kNow, 0));
}

TEST_CASE("manifest: expired manifests and expired roots are refused", "[rollout]") {
    // At or after `expires` the manifest is refused; an expired root vouches for nothing.
    TestTrust trust;
    const crypto::Envelope envelope = trust.sign_release(sample_manifest());
    auto expired = verify_manifest(envelope, trust.trust, at("2026-12-24T00:00:00Z"), 0);
    REQUIRE_FALSE(expired);
    CHECK(expired.error().is(Errc::untrusted));
    CHECK(expired.error().message() == "manifest \"2026-11-B\" v3: expired at 2026-12-24T00:00:00Z");
    CHECK(verify_manifest(envelope, trust.trust, at("2026-12-23T23:59:59Z"), 0));
    crypto::TrustRoot old_root = trust.trust;
    old_root.expires = at("2026-11-01T00:00:00Z");
    auto stale_root = verify_manifest(envelope, old_root, kNow, 0);
    REQUIRE_FALSE(stale_root);
    CHECK(stale_root.error().message() ==
          "manifest: trust root v1 expired at 2026-11-01T00:00:00Z; update the trust root first");
}

TEST_CASE("manifest: rollback and replay of versions are refused", "[rollout]") {
    // v3 after v5, and v3 again after v3, are refused; v3 after v2 is fine.
    TestTrust trust;
    const crypto::Envelope envelope = trust.sign_release(sample_manifest());
    auto rollback = verify_manifest(envelope, trust.trust, kNow, 5);
    REQUIRE_FALSE(rollback);
    CHECK(rollback.error().is(Errc::untrusted));
    CHECK(rollback.error().message() ==
          "manifest \"2026-11-B\" v3: version is not above the v5 already seen (rollback refused)");
    auto replay = verify_manifest(envelope, trust.trust, kNow, 3);
    REQUIRE_FALSE(replay);
    CHECK(replay.error().message() == "manifest \"2026-11-B\" v3: version is not above the v3 already seen (rollback refused)");
    CHECK(verify_manifest(envelope, trust.trust, kNow, 2));
}

TEST_CASE("manifest: a tampered body fails the signature check", "[rollout]") {
    // Changing one wave's threshold after signing invalidates both release signatures.
    TestTrust trust;
    crypto::Envelope envelope = trust.sign_release(sample_manifest());
    envelope.body.replace(envelope.body.find("95%"), 3, "10%");
    auto verified = verify_manifest(envelope, trust.trust, kNow, 0);
    REQUIRE_FALSE(verified);
    CHECK(verified.error().message() == "manifest: release: 0 of 2 required signatures (2 invalid)");
}
