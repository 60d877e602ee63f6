#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "document_fixtures.hpp"
#include "rollout/approval.hpp"

using namespace patchwave;
using namespace patchwave::rollout;
using namespace patchwave::rollout::testing;

namespace {

const crypto::Digest kDigest = crypto::sha256(std::string_view("bundle.toml"));

std::string parse_error(std::string_view body) {
    auto approval = Approval::parse_json(body);
    REQUIRE_FALSE(approval);
    return approval.error().message();
}

}  // namespace

TEST_CASE("approval: JSON round-trips exactly", "[rollout]") {
    // to_json is compact with sorted keys; parsing it gives the same approval and the same text back.
    const Approval approval = sample_approval();
    const std::string json = approval.to_json();
    CHECK(json == "{\"approved_at\":\"2026-11-20T10:00:00Z\",\"bundle\":\"" + to_hex(bundle_id(7)) +
                      "\",\"change_ref\":\"CHG-1234\",\"metadata_digest\":\"" + to_hex(kDigest) +
                      "\",\"note\":\"tested in staging\"}");
    auto parsed = Approval::parse_json(json);
    REQUIRE(parsed);
    CHECK(*parsed == approval);
    CHECK(parsed->to_json() == json);
}

TEST_CASE("approval: malformed bodies are refused with the field named", "[rollout]") {
    // Missing, empty, unknown, duplicate and badly formatted fields are all parse errors.
    const std::string good = sample_approval().to_json();
    auto without = [&](std::string_view key) {
        auto json = nlohmann::json::parse(good);
        json.erase(std::string(key));
        return json.dump();
    };
    CHECK(parse_error(without("change_ref")) == "approval: change_ref: missing");
    auto empty_ref = nlohmann::json::parse(good);
    empty_ref["change_ref"] = "";
    CHECK(parse_error(empty_ref.dump()) == "approval: change_ref: must not be empty");
    auto extra = nlohmann::json::parse(good);
    extra["approver"] = "me";
    CHECK(parse_error(extra.dump()) == "approval: approver: unknown field");
    const std::string duplicate = "{\"note\":\"a\"," + good.substr(1);
    CHECK(parse_error(duplicate) == "approval: invalid JSON: duplicate key \"note\"");
    auto upper = nlohmann::json::parse(good);
    upper["bundle"] = std::string(64, 'A');
    CHECK(parse_error(upper.dump()) == "approval: bundle: \"" + std::string(64, 'A') + "\" is not lower-case hex");
    auto short_id = nlohmann::json::parse(good);
    short_id["bundle"] = "abcd";
    CHECK(parse_error(short_id.dump()) == "approval: bundle: \"abcd\" is not 64 hex characters");
    auto bad_time = nlohmann::json::parse(good);
    bad_time["approved_at"] = "today";
    CHECK_THAT(parse_error(bad_time.dump()), Catch::StartsWith("approval: approved_at: \"today\" is not an RFC 3339 time"));
    CHECK(parse_error("[]") == "approval: document: expected an object");
}

TEST_CASE("approval: oversized bodies are refused before parsing", "[rollout]") {
    // A 16 KiB cap bounds what an approval costs to read.
    Approval approval = sample_approval();
    approval.note = std::string(Approval::kMaxBodySize, 'x');
    auto parsed = Approval::parse_json(approval.to_json());
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().is(Errc::limit));
    CHECK_THAT(parsed.error().message(), Catch::StartsWith("approval: body of "));
    CHECK_THAT(parsed.error().message(), Catch::EndsWith(" bytes is over the 16 KiB cap"));
}

TEST_CASE("approval: a valid approval verifies and names its approver", "[rollout]") {
    // Signed by an approver key, for this bundle and metadata: the approver key comes back.
    TestTrust trust;
    const crypto::Envelope envelope = sample_approval().sign(trust.approvers[2]);
    auto approver = verify_approval(envelope, trust.trust, bundle_id(7), kDigest);
    REQUIRE(approver);
    CHECK(*approver == trust.approvers[2].public_key());
}

TEST_CASE("approval: refusals name the reason", "[rollout]") {
    // Wrong type, non-approver signer, another bundle, other metadata, tampered body: all untrusted.
    TestTrust trust;
    crypto::Envelope envelope = sample_approval().sign(trust.approvers[0]);

    crypto::Envelope retyped = envelope;
    retyped.type = "patchwave.manifest";
    auto wrong_type = verify_approval(retyped, trust.trust, bundle_id(7), kDigest);
    REQUIRE_FALSE(wrong_type);
    CHECK(wrong_type.error().is(Errc::untrusted));
    CHECK(wrong_type.error().message() ==
          "approval: expected a \"patchwave.approval\" document, got \"patchwave.manifest\"");

    auto by_release = verify_approval(sample_approval().sign(trust.release[0]), trust.trust, bundle_id(7), kDigest);
    REQUIRE_FALSE(by_release);
    CHECK(by_release.error().message() == "approval: approver: 0 of 1 required signatures (1 by unknown keys)");

    auto other_bundle = verify_approval(envelope, trust.trust, bundle_id(9), kDigest);
    REQUIRE_FALSE(other_bundle);
    CHECK(other_bundle.error().is(Errc::untrusted));
    CHECK(other_bundle.error().message() == "approval \"CHG-1234\": is for bundle 070707070707, not 090909090909");

    const crypto::Digest other_digest = crypto::sha256(std::string_view("edited bundle.toml"));
    auto other_meta = verify_approval(envelope, trust.trust, bundle_id(7), other_digest);
    REQUIRE_FALSE(other_meta);
    CHECK_THAT(other_meta.error().message(),
               Catch::StartsWith("approval \"CHG-1234\": approves other metadata of bundle 070707070707"));

    crypto::Envelope tampered = envelope;
    tampered.body.replace(tampered.body.find("CHG-1234"), 8, "CHG-9999");
    auto bad_signature = verify_approval(tampered, trust.trust, bundle_id(7), kDigest);
    REQUIRE_FALSE(bad_signature);
    CHECK(bad_signature.error().message() == "approval: approver: 0 of 1 required signatures (1 invalid)");
}

TEST_CASE("approval: K-1 approvers plus a duplicate signature are still K-1", "[rollout]") {
    // Repeating an envelope, or one approver signing twice, never adds an approval.
    TestTrust trust;
    std::vector<crypto::Envelope> approvals;
    approvals.push_back(sample_approval("CHG-1").sign(trust.approvers[0]));
    approvals.push_back(sample_approval("CHG-1").sign(trust.approvers[1]));
    approvals.push_back(approvals[0]);                                       // the same envelope again
    approvals.push_back(sample_approval("CHG-2").sign(trust.approvers[1]));  // same approver, another body
    crypto::Envelope twice = sample_approval("CHG-3").sign(trust.approvers[0]);
    twice.signatures.push_back(twice.signatures[0]);  // one envelope, the same signature twice
    approvals.push_back(twice);
    const auto counted = count_approvals(approvals, trust.trust, bundle_id(7), kDigest);
    CHECK(counted.size() == 2);
    CHECK(counted == std::set<crypto::PublicKey>{trust.approvers[0].public_key(), trust.approvers[1].public_key()});
    CHECK(approvals_required(trust.trust, false) == 3);
    CHECK(counted.size() < approvals_required(trust.trust, false));
}

TEST_CASE("approval: an aliased key id does not count for the key it names", "[rollout]") {
    // approver 0's signature relabelled with approver 1's key id verifies for neither.
    TestTrust trust;
    crypto::Envelope aliased = sample_approval().sign(trust.approvers[0]);
    aliased.signatures[0].key_id = trust.approvers[1].public_key().id();
    const std::vector<crypto::Envelope> approvals{aliased};
    CHECK(count_approvals(approvals, trust.trust, bundle_id(7), kDigest).empty());
    auto verified = verify_approval(aliased, trust.trust, bundle_id(7), kDigest);
    REQUIRE_FALSE(verified);
    CHECK(verified.error().is(Errc::untrusted));
}

TEST_CASE("approval: foreign approvals are skipped, not counted", "[rollout]") {
    // Approvals for another bundle, other metadata, or by a non-approver key count for nothing.
    TestTrust trust;
    Approval other_bundle = sample_approval();
    other_bundle.bundle = bundle_id(9);
    Approval other_meta = sample_approval();
    other_meta.metadata_digest = crypto::sha256(std::string_view("x"));
    std::vector<crypto::Envelope> approvals{
        other_bundle.sign(trust.approvers[0]),
        other_meta.sign(trust.approvers[1]),
        sample_approval().sign(trust.operators[0]),
        sample_approval().sign(trust.approvers[4]),
    };
    const auto counted = count_approvals(approvals, trust.trust, bundle_id(7), kDigest);
    CHECK(counted == std::set<crypto::PublicKey>{trust.approvers[4].public_key()});
}

TEST_CASE("approval: several approver signatures on one envelope each count once", "[rollout]") {
    // Co-signed approvals count every distinct approver that validly signed.
    TestTrust trust;
    crypto::Envelope cosigned = sample_approval().sign(trust.approvers[0]);
    cosigned.sign(trust.approvers[3]);
    const std::vector<crypto::Envelope> approvals{cosigned, cosigned};
    CHECK(count_approvals(approvals, trust.trust, bundle_id(7), kDigest).size() == 2);
}

TEST_CASE("approval: emergency rollouts need the emergency threshold", "[rollout]") {
    // approvals_required follows the trust root: 3 normally, 2 for emergencies.
    TestTrust trust;
    CHECK(approvals_required(trust.trust, false) == 3);
    CHECK(approvals_required(trust.trust, true) == 2);
}
