#include <catch2/catch.hpp>

#include "document_fixtures.hpp"
#include "rollout/manifest.hpp"

using namespace patchwave;
using namespace patchwave::rollout;
using namespace patchwave::rollout::testing;

namespace {

// The sample manifest with approvals of its first bundle by the given approvers.
Manifest approved_by(const TestTrust& trust, std::initializer_list<std::size_t> approvers) {
    Manifest manifest = sample_manifest();
    for (std::size_t index : approvers) {
        manifest.bundles[0].approvals.push_back(
            sample_approval("CHG-" + std::to_string(index)).sign(trust.approvers[index]));
    }
    return manifest;
}

std::string refusal(const Status& status) {
    REQUIRE_FALSE(status);
    CHECK(status.error().is(Errc::untrusted));
    return status.error().message();
}

}  // namespace

TEST_CASE("clearance: the test ring runs on the release signature alone", "[rollout]") {
    // Wave 0 of a multi-wave rollout needs no approvals; wave 1 does.
    TestTrust trust;
    const Manifest manifest = approved_by(trust, {});
    CHECK(bundle_cleared_for_wave(manifest, manifest.bundles[0], 0, trust.trust));
    CHECK(refusal(bundle_cleared_for_wave(manifest, manifest.bundles[0], 1, trust.trust)) ==
          "bundle \"openssl-cve-2026-1234\" 3.0.22-1 (070707070707): 0 of 3 required approvals for wave \"canary\"");
}

TEST_CASE("clearance: K-1 approvals plus a duplicate do not clear later waves", "[rollout]") {
    // Two distinct approvers and a repeated envelope are 2 of 3; a third approver clears it.
    TestTrust trust;
    Manifest manifest = approved_by(trust, {0, 1});
    manifest.bundles[0].approvals.push_back(manifest.bundles[0].approvals[1]);
    CHECK(refusal(bundle_cleared_for_wave(manifest, manifest.bundles[0], 2, trust.trust)) ==
          "bundle \"openssl-cve-2026-1234\" 3.0.22-1 (070707070707): 2 of 3 required approvals for wave \"rest\"");
    manifest.bundles[0].approvals.push_back(sample_approval("CHG-9").sign(trust.approvers[4]));
    CHECK(bundle_cleared_for_wave(manifest, manifest.bundles[0], 1, trust.trust));
    CHECK(bundle_cleared_for_wave(manifest, manifest.bundles[0], 2, trust.trust));
}

TEST_CASE("clearance: held and cancelled bundles are refused in every wave", "[rollout]") {
    // Triage other than proceed refuses even the test ring, naming the status.
    TestTrust trust;
    Manifest manifest = approved_by(trust, {0, 1, 2});
    CHECK(refusal(bundle_cleared_for_wave(manifest, manifest.bundles[1], 0, trust.trust)) ==
          "bundle \"tzdata\" 2026a-1 (080808080808): triage status is \"hold\": it is not offered to hosts");
    manifest.bundles[0].triage = TriageStatus::cancelled;
    CHECK(refusal(bundle_cleared_for_wave(manifest, manifest.bundles[0], 2, trust.trust)) ==
          "bundle \"openssl-cve-2026-1234\" 3.0.22-1 (070707070707): triage status is \"cancelled\": it is not "
          "offered to hosts");
}

TEST_CASE("clearance: the manifest's own entry is judged, not the caller's copy", "[rollout]") {
    // Editing triage on a copy does not clear a bundle the signed manifest holds.
    TestTrust trust;
    const Manifest manifest = approved_by(trust, {0, 1, 2});
    ManifestBundle edited = manifest.bundles[1];
    edited.triage = TriageStatus::proceed;
    CHECK_FALSE(bundle_cleared_for_wave(manifest, edited, 0, trust.trust));
    ManifestBundle stranger = manifest.bundles[0];
    stranger.id = bundle_id(9);
    CHECK(refusal(bundle_cleared_for_wave(manifest, stranger, 0, trust.trust)) ==
          "bundle \"openssl-cve-2026-1234\" 3.0.22-1 (090909090909): is not part of manifest \"2026-11-B\" v3");
}

TEST_CASE("clearance: emergency rollouts use the emergency threshold", "[rollout]") {
    // Two approvals clear an emergency rollout (threshold 2) but not a normal one (3).
    TestTrust trust;
    Manifest manifest = approved_by(trust, {3, 4});
    CHECK_FALSE(bundle_cleared_for_wave(manifest, manifest.bundles[0], 1, trust.trust));
    manifest.emergency = true;
    CHECK(bundle_cleared_for_wave(manifest, manifest.bundles[0], 1, trust.trust));
    Manifest one = approved_by(trust, {3});
    one.emergency = true;
    CHECK(refusal(bundle_cleared_for_wave(one, one.bundles[0], 1, trust.trust)) ==
          "bundle \"openssl-cve-2026-1234\" 3.0.22-1 (070707070707): 1 of 2 required emergency approvals for wave "
          "\"canary\"");
}

TEST_CASE("clearance: a single-wave rollout has no test ring", "[rollout]") {
    // With only one wave, wave 0 is the whole target and needs the full approval.
    TestTrust trust;
    Manifest manifest = approved_by(trust, {0});
    manifest.waves.resize(1);
    CHECK(refusal(bundle_cleared_for_wave(manifest, manifest.bundles[0], 0, trust.trust)) ==
          "bundle \"openssl-cve-2026-1234\" 3.0.22-1 (070707070707): 1 of 3 required approvals for wave \"test\"");
}

TEST_CASE("clearance: approvals of other metadata do not count", "[rollout]") {
    // Approvals signed over a different bundle.toml digest are ignored.
    TestTrust trust;
    Manifest manifest = approved_by(trust, {0, 1, 2});
    manifest.bundles[0].metadata_digest = crypto::sha256(std::string_view("edited bundle.toml"));
    CHECK(refusal(bundle_cleared_for_wave(manifest, manifest.bundles[0], 1, trust.trust)) ==
          "bundle \"openssl-cve-2026-1234\" 3.0.22-1 (070707070707): 0 of 3 required approvals for wave \"canary\"");
}

TEST_CASE("clearance: a wave index beyond the manifest is a caller error", "[rollout]") {
    // invalid_argument, not untrusted: nothing about the documents is wrong.
    TestTrust trust;
    const Manifest manifest = approved_by(trust, {});
    auto status = bundle_cleared_for_wave(manifest, manifest.bundles[0], 3, trust.trust);
    REQUIRE_FALSE(status);
    CHECK(status.error().is(Errc::invalid_argument));
    CHECK(status.error().message() ==
          "bundle \"openssl-cve-2026-1234\" 3.0.22-1 (070707070707): manifest \"2026-11-B\" has no wave #4");
}
