#include "agent/eligibility.hpp"

#include <catch2/catch.hpp>

#include "rollout/document_fixtures.hpp"

using namespace patchwave;
using namespace patchwave::agent;
using namespace patchwave::rollout;
using namespace patchwave::rollout::testing;

namespace {

// Wednesday, a day after the sample manifest's not_before, a month before it expires.
const Timestamp kNow = at("2026-11-25T10:00:00Z");

// The sample manifest (test ring; canary and rest select ring=prod) with the
// canary's percent share removed, so every prod host is in wave 1 whatever its key.
Manifest manifest() {
    Manifest m = sample_manifest();
    m.waves[1].percent.reset();
    return m;
}

HostFacts host(std::string ring, std::vector<std::string> windows = {}, UtcOffset offset = UtcOffset{0}) {
    HostFacts facts;
    facts.agent = test_key(60).public_key().id();
    facts.labels = {{"ring", std::move(ring)}, {"zone", "eu"}};
    facts.maintenance = parse_windows(windows).value();
    facts.offset = offset;
    return facts;
}

ControlRecord control(ControlAction action, std::uint32_t open_wave, std::string rollout_id = "2026-11-B") {
    ControlRecord record;
    record.rollout_id = std::move(rollout_id);
    record.sequence = 4;
    record.action = action;
    record.open_wave = open_wave;
    record.reason = "canary errors";
    record.operator_name = "alice";
    record.time = at("2026-11-25T09:00:00Z");
    return record;
}

}  // namespace

TEST_CASE("eligibility: a host in none of the waves is not targeted", "[agent][eligibility]") {
    // ring=dev matches no selector: no wave, nothing allowed, no refusals judged.
    TestTrust trust;
    const Eligibility out = evaluate_eligibility(manifest(), nullptr, trust.trust, host("dev"), kNow);
    CHECK_FALSE(out.wave.has_value());
    CHECK_FALSE(out.may_download);
    CHECK_FALSE(out.may_install);
    CHECK_FALSE(out.aborted);
    CHECK(out.reason == "this host is in none of the rollout's waves");
    CHECK_FALSE(out.recheck_at.has_value());
    CHECK(out.refusals.empty());
}

TEST_CASE("eligibility: wave 0 is open without any control record", "[agent][eligibility]") {
    // The test ring starts as soon as the manifest is valid; with no
    // maintenance window it may install at once, rechecked at expiry.
    TestTrust trust;
    const Manifest m = manifest();
    const Eligibility out = evaluate_eligibility(m, nullptr, trust.trust, host("test"), kNow);
    CHECK(out.wave == std::optional<std::size_t>(0));
    CHECK(out.may_download);
    CHECK(out.may_install);
    CHECK_FALSE(out.aborted);
    CHECK(out.reason.empty());
    CHECK(out.recheck_at == std::optional<Timestamp>(m.expires));
}

TEST_CASE("eligibility: wave 1 opens only when a control record's open_wave reaches it", "[agent][eligibility]") {
    // No record, then open_wave 0: closed. open_wave 1: open. A larger
    // open_wave than the manifest has waves is the last wave.
    TestTrust trust;
    const Manifest m = manifest();
    const Eligibility closed = evaluate_eligibility(m, nullptr, trust.trust, host("prod"), kNow);
    CHECK(closed.wave == std::optional<std::size_t>(1));
    CHECK_FALSE(closed.may_download);
    CHECK_FALSE(closed.may_install);
    CHECK(closed.reason == "wave 2 (\"canary\") is not open yet (open: up to wave 1 (\"test\"))");

    const ControlRecord still_zero = control(ControlAction::resume, 0);
    const Eligibility zero = evaluate_eligibility(m, &still_zero, trust.trust, host("prod"), kNow);
    CHECK_FALSE(zero.may_download);
    CHECK(zero.reason == closed.reason);

    const ControlRecord advanced = control(ControlAction::advance, 1);
    const Eligibility open = evaluate_eligibility(m, &advanced, trust.trust, host("prod"), kNow);
    CHECK(open.wave == std::optional<std::size_t>(1));
    CHECK(open.may_download);
    CHECK(open.may_install);
    CHECK(open.reason.empty());

    const ControlRecord beyond = control(ControlAction::advance, 9);
    CHECK(evaluate_eligibility(m, &beyond, trust.trust, host("prod"), kNow).may_install);
}

TEST_CASE("eligibility: a paused rollout allows nothing but keeps its wave", "[agent][eligibility]") {
    // Paused with wave 1 open: no downloads, the reason names who and why.
    TestTrust trust;
    const Manifest m = manifest();
    const ControlRecord paused = control(ControlAction::pause, 1);
    const Eligibility out = evaluate_eligibility(m, &paused, trust.trust, host("prod"), kNow);
    CHECK(out.wave == std::optional<std::size_t>(1));
    CHECK_FALSE(out.may_download);
    CHECK_FALSE(out.may_install);
    CHECK_FALSE(out.aborted);
    CHECK(out.reason == "paused by alice: canary errors");
    // Also for the test ring, which needs no record to be open.
    CHECK_FALSE(evaluate_eligibility(m, &paused, trust.trust, host("test"), kNow).may_download);
    ControlRecord no_reason = paused;
    no_reason.reason.clear();
    CHECK(evaluate_eligibility(m, &no_reason, trust.trust, host("prod"), kNow).reason == "paused by alice");
}

TEST_CASE("eligibility: an aborted rollout sets the aborted flag", "[agent][eligibility]") {
    // Final: nothing allowed, no recheck by time, even for an open wave.
    TestTrust trust;
    const ControlRecord aborted = control(ControlAction::abort, 2);
    const Eligibility out = evaluate_eligibility(manifest(), &aborted, trust.trust, host("test"), kNow);
    CHECK(out.aborted);
    CHECK(out.wave == std::optional<std::size_t>(0));
    CHECK_FALSE(out.may_download);
    CHECK_FALSE(out.may_install);
    CHECK(out.reason == "aborted by alice: canary errors");
    CHECK_FALSE(out.recheck_at.has_value());
}

TEST_CASE("eligibility: an expired manifest allows nothing", "[agent][eligibility]") {
    // At the expiry instant and after it; no later recheck helps.
    TestTrust trust;
    const Manifest m = manifest();
    for (Timestamp now : {m.expires, m.expires + std::chrono::hours(1)}) {
        const Eligibility out = evaluate_eligibility(m, nullptr, trust.trust, host("test"), now);
        CHECK_FALSE(out.may_download);
        CHECK_FALSE(out.may_install);
        CHECK_FALSE(out.aborted);
        CHECK(out.reason == "the manifest expired at 2026-12-24T00:00:00Z");
        CHECK_FALSE(out.recheck_at.has_value());
    }
    // One second before: still valid.
    CHECK(evaluate_eligibility(m, nullptr, trust.trust, host("test"), m.expires - std::chrono::seconds(1)).may_install);
}

TEST_CASE("eligibility: before not_before nothing starts and the recheck is not_before", "[agent][eligibility]") {
    // The manifest says not before 2026-11-24T01:00:00Z.
    TestTrust trust;
    const Manifest m = manifest();
    const Eligibility out = evaluate_eligibility(m, nullptr, trust.trust, host("test"), at("2026-11-23T20:00:00Z"));
    CHECK(out.wave == std::optional<std::size_t>(0));
    CHECK_FALSE(out.may_download);
    CHECK_FALSE(out.may_install);
    CHECK(out.reason == "not before 2026-11-24T01:00:00Z");
    CHECK(out.recheck_at == m.not_before);
    // At not_before itself it may start.
    CHECK(evaluate_eligibility(m, nullptr, trust.trust, host("test"), *m.not_before).may_install);
}

TEST_CASE("eligibility: outside the maintenance window downloads but does not install", "[agent][eligibility]") {
    // Wednesday 10:00 with a Saturday window: rechecked when it opens.
    TestTrust trust;
    const Eligibility out =
        evaluate_eligibility(manifest(), nullptr, trust.trust, host("test", {"Sat 01:00-05:00"}), kNow);
    CHECK(out.may_download);
    CHECK_FALSE(out.may_install);
    CHECK(out.reason == "outside the maintenance window until 2026-11-28T01:00:00Z");
    CHECK(out.recheck_at == std::optional<Timestamp>(at("2026-11-28T01:00:00Z")));
}

TEST_CASE("eligibility: inside the maintenance window installs until it closes", "[agent][eligibility]") {
    // Wednesday 09:00-12:00 UTC contains 10:00; rechecked at the closing.
    TestTrust trust;
    const Eligibility out =
        evaluate_eligibility(manifest(), nullptr, trust.trust, host("test", {"Wed 09:00-12:00"}), kNow);
    CHECK(out.may_download);
    CHECK(out.may_install);
    CHECK(out.reason.empty());
    CHECK(out.recheck_at == std::optional<Timestamp>(at("2026-11-25T12:00:00Z")));
}

TEST_CASE("eligibility: windows are read at the host's UTC offset", "[agent][eligibility]") {
    // Wed 10:30-12:00 at +01:00 is 09:30-11:00 UTC: inside at 10:00 UTC,
    // closing at 11:00 UTC. At +00:00 the same window is not open yet.
    TestTrust trust;
    const Eligibility plus_one =
        evaluate_eligibility(manifest(), nullptr, trust.trust, host("test", {"Wed 10:30-12:00"}, UtcOffset{60}), kNow);
    CHECK(plus_one.may_install);
    CHECK(plus_one.recheck_at == std::optional<Timestamp>(at("2026-11-25T11:00:00Z")));
    const Eligibility utc =
        evaluate_eligibility(manifest(), nullptr, trust.trust, host("test", {"Wed 10:30-12:00"}), kNow);
    CHECK_FALSE(utc.may_install);
    CHECK(utc.recheck_at == std::optional<Timestamp>(at("2026-11-25T10:30:00Z")));
}

TEST_CASE("eligibility: a control record of another rollout is ignored", "[agent][eligibility]") {
    // An abort of 2026-11-C neither aborts 2026-11-B nor opens its wave 1.
    TestTrust trust;
    const Manifest m = manifest();
    const ControlRecord other_abort = control(ControlAction::abort, 0, "2026-11-C");
    const Eligibility test_ring = evaluate_eligibility(m, &other_abort, trust.trust, host("test"), kNow);
    CHECK_FALSE(test_ring.aborted);
    CHECK(test_ring.may_install);
    const ControlRecord other_advance = control(ControlAction::advance, 2, "2026-11-C");
    const Eligibility prod = evaluate_eligibility(m, &other_advance, trust.trust, host("prod"), kNow);
    CHECK_FALSE(prod.may_download);
    CHECK(prod.reason == "wave 2 (\"canary\") is not open yet (open: up to wave 1 (\"test\"))");
}

TEST_CASE("eligibility: refusals per bundle follow triage and approvals", "[agent][eligibility]") {
    // Bundle 0 has no approvals: fine in the test ring, refused in the
    // canary. Bundle 1 is held: refused in every wave.
    TestTrust trust;
    const Manifest m = manifest();
    const std::string held =
        "bundle \"tzdata\" 2026a-1 (080808080808): triage status is \"hold\": it is not offered "
        "to hosts";

    const Eligibility test_ring = evaluate_eligibility(m, nullptr, trust.trust, host("test"), kNow);
    REQUIRE(test_ring.refusals.size() == 2);
    CHECK(test_ring.refusals[0].empty());
    CHECK(test_ring.refusals[1] == held);

    const ControlRecord advanced = control(ControlAction::advance, 1);
    const Eligibility canary = evaluate_eligibility(m, &advanced, trust.trust, host("prod"), kNow);
    REQUIRE(canary.refusals.size() == 2);
    CHECK(canary.refusals[0] == "bundle \"openssl-cve-2026-1234\" 3.0.22-1 (070707070707): 0 of 3 required "
                                "approvals for wave \"canary\"");
    CHECK(canary.refusals[1] == held);
    // Refusals are judged even while the wave is still closed.
    const Eligibility closed = evaluate_eligibility(m, nullptr, trust.trust, host("prod"), kNow);
    REQUIRE(closed.refusals.size() == 2);
    CHECK_FALSE(closed.refusals[0].empty());

    // Three approvers clear bundle 0 for the canary.
    Manifest approved = m;
    for (std::size_t i = 0; i < 3; ++i)
        approved.bundles[0].approvals.push_back(sample_approval("CHG-" + std::to_string(i)).sign(trust.approvers[i]));
    const Eligibility cleared = evaluate_eligibility(approved, &advanced, trust.trust, host("prod"), kNow);
    REQUIRE(cleared.refusals.size() == 2);
    CHECK(cleared.refusals[0].empty());
    CHECK(cleared.refusals[1] == held);
}
