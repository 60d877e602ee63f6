#include <catch2/catch.hpp>

#include "crypto/trust_root.hpp"
#include "support/test_keys.hpp"

using namespace patchwave;
using namespace patchwave::crypto;
using namespace std::chrono;

namespace {

const Timestamp kNow = sys_days{2026y / November / 23};

// Root version `version` whose root role is keys `root_ids` (threshold `k`);
// the other roles get fixed keys.
TrustRoot make_root(std::uint64_t version, std::vector<std::uint8_t> root_ids, std::uint32_t k,
                    Timestamp expires = kNow + days(365)) {
    TrustRoot root;
    root.version = version;
    root.expires = expires;
    for (auto id : root_ids) root.role(Role::root).keys.push_back(testing::test_key(id).public_key());
    root.role(Role::root).threshold = k;
    root.role(Role::release) = {{testing::test_key(50).public_key()}, 1};
    root.role(Role::operator_) = {{testing::test_key(51).public_key()}, 1};
    root.role(Role::approver) = {{testing::test_key(52).public_key(), testing::test_key(53).public_key(),
                                  testing::test_key(54).public_key()},
                                 2};
    root.approver_emergency_threshold = 1;
    root.role(Role::enrollment) = {{testing::test_key(55).public_key()}, 1};
    return root;
}

Envelope sign_root(const TrustRoot& root, std::vector<std::uint8_t> signer_ids) {
    std::vector<PrivateKey> keys;
    for (auto id : signer_ids) keys.push_back(testing::test_key(id));
    std::vector<const PrivateKey*> pointers;
    for (const auto& key : keys) pointers.push_back(&key);
    return TrustRoot::sign(root, pointers).value();
}

}  // namespace

TEST_CASE("a trust root round-trips through JSON", "[crypto]") {
    // parse(to_json()) gives back an equal root.
    const TrustRoot root = make_root(3, {1, 2, 3}, 2);
    CHECK(TrustRoot::parse(root.to_json()).value() == root);
}

TEST_CASE("a self-signed initial root is pinned", "[crypto]") {
    // Threshold of its own root keys, not expired: accepted.
    const TrustRoot root = make_root(1, {1, 2, 3}, 2);
    CHECK(verify_initial_root(sign_root(root, {1, 3}), kNow).value() == root);
}

TEST_CASE("an initial root below its own threshold is refused", "[crypto]") {
    // One of two required root signatures.
    auto result = verify_initial_root(sign_root(make_root(1, {1, 2, 3}, 2), {1}), kNow);
    REQUIRE_FALSE(result);
    CHECK(result.error().is(Errc::untrusted));
    CHECK(result.error().message() == "trust root v1: root role: 1 of 2 required signatures");
}

TEST_CASE("an expired root is refused", "[crypto]") {
    // Pinning or walking to a root past its expiry fails with the date.
    const TrustRoot root = make_root(1, {1}, 1, kNow - seconds(1));
    auto result = verify_initial_root(sign_root(root, {1}), kNow);
    REQUIRE_FALSE(result);
    CHECK(result.error().message() == "trust root v1 expired at 2026-11-22T23:59:59Z");
    CHECK(verify_root_chain(root, {}, kNow).error().is(Errc::untrusted));
}

TEST_CASE("a rotation signed by old and new root keys is accepted", "[crypto]") {
    // v1 {1,2} -> v2 {2,3}: signed by a threshold of both sets.
    const TrustRoot v1 = make_root(1, {1, 2}, 1);
    const TrustRoot v2 = make_root(2, {2, 3}, 2);
    CHECK(verify_next_root(v1, sign_root(v2, {1, 2, 3}), kNow).value() == v2);
}

TEST_CASE("a rotation signed only by the new keys is refused", "[crypto]") {
    // A stolen-key attacker who makes a new root with their own keys fails.
    const TrustRoot v1 = make_root(1, {1, 2}, 1);
    const TrustRoot v2 = make_root(2, {8, 9}, 2);
    auto result = verify_next_root(v1, sign_root(v2, {8, 9}), kNow);
    REQUIRE_FALSE(result);
    CHECK(result.error().message() ==
          "trust root v2: keys of trusted v1: 0 of 1 required signatures (2 by unknown keys)");
}

TEST_CASE("a rotation signed only by the old keys is refused", "[crypto]") {
    // The new root must show that its own keys are held.
    const TrustRoot v1 = make_root(1, {1}, 1);
    const TrustRoot v2 = make_root(2, {8, 9}, 2);
    auto result = verify_next_root(v1, sign_root(v2, {1, 8}), kNow);
    REQUIRE_FALSE(result);
    CHECK(result.error().message() == "trust root v2: its own root keys: 1 of 2 required signatures (1 by unknown keys)");
}

TEST_CASE("skipping a version or rolling back is refused", "[crypto]") {
    // v1 -> v3 and v2 -> v1 both fail even when properly signed.
    const TrustRoot v1 = make_root(1, {1}, 1);
    auto skipped = verify_next_root(v1, sign_root(make_root(3, {1}, 1), {1}), kNow);
    REQUIRE_FALSE(skipped);
    CHECK(skipped.error().message() ==
          "trust root v3 does not follow trusted v1 (expected v2; versions may not be skipped or rolled back)");
    const TrustRoot v2 = make_root(2, {1}, 1);
    auto rollback = verify_next_root(v2, sign_root(v1, {1}), kNow);
    REQUIRE_FALSE(rollback);
    CHECK(rollback.error().is(Errc::untrusted));
    auto same = verify_next_root(v2, sign_root(v2, {1}), kNow);
    REQUIRE_FALSE(same);
    CHECK(same.error().is(Errc::untrusted));
}

TEST_CASE("a chain v1 to v5 verifies step by step", "[crypto]") {
    // Each step rotates one root key; every link is signed by old and new keys.
    std::vector<TrustRoot> roots{make_root(1, {1, 2}, 2)};
    std::vector<Envelope> chain;
    for (std::uint8_t v = 2; v <= 5; ++v) {
        roots.push_back(make_root(v, {v, static_cast<std::uint8_t>(v + 1)}, 2));
        chain.push_back(sign_root(roots.back(), {static_cast<std::uint8_t>(v - 1), v, static_cast<std::uint8_t>(v + 1)}));
    }
    CHECK(verify_root_chain(roots[0], chain, kNow).value() == roots[4]);

    // Dropping the v3 link breaks the chain at v4.
    std::vector<Envelope> gap{chain[0], chain[2], chain[3]};
    auto broken = verify_root_chain(roots[0], gap, kNow);
    REQUIRE_FALSE(broken);
    CHECK(broken.error().is(Errc::untrusted));
}

TEST_CASE("intermediate roots may have expired, the last may not", "[crypto]") {
    // An agent offline for a year can still walk v1 -> v3 when v2 has expired.
    const TrustRoot v1 = make_root(1, {1}, 1, kNow - days(100));
    const TrustRoot v2 = make_root(2, {1}, 1, kNow - days(10));
    const TrustRoot v3 = make_root(3, {1}, 1, kNow + days(10));
    const std::vector<Envelope> chain{sign_root(v2, {1}), sign_root(v3, {1})};
    CHECK(verify_root_chain(v1, chain, kNow).value() == v3);
    const std::vector<Envelope> stale{sign_root(v2, {1})};
    CHECK(verify_root_chain(v1, stale, kNow).error().message() == "trust root v2 expired at 2026-11-13T00:00:00Z");
}

TEST_CASE("malformed trust roots are refused with the field named", "[crypto]") {
    // Unknown fields, duplicate keys, missing roles and impossible thresholds.
    const std::string good = make_root(1, {1, 2}, 1).to_json();
    auto replace = [&](std::string_view from, std::string_view to) {
        std::string text = good;
        const auto pos = text.find(from);
        REQUIRE(pos != std::string::npos);
        text.replace(pos, from.size(), to);
        return text;
    };
    CHECK(TrustRoot::parse(replace("\"version\": 1", "\"version\": 1, \"extra\": 2")).error().message() ==
          "trust root: extra: unknown field");
    CHECK(TrustRoot::parse(replace("\"version\": 1", "\"version\": 1, \"version\": 2")).error().message() ==
          "trust root: invalid JSON: duplicate key \"version\"");
    CHECK(TrustRoot::parse(replace("\"enrollment\"", "\"enrolment\"")).error().message() ==
          "trust root: roles.enrollment: missing");
    CHECK(TrustRoot::parse(replace("\"version\": 1", "\"version\": 0")).error().message() ==
          "trust root: version: must be 1 or more");

    TrustRoot too_high = make_root(1, {1, 2}, 3);
    CHECK(TrustRoot::parse(too_high.to_json()).error().message() == "trust root: roles.root.threshold: 3 is not 1-2");
    TrustRoot twice = make_root(1, {1, 1}, 1);
    CHECK(TrustRoot::parse(twice.to_json()).error().message() == "trust root: roles.root.keys: a key is listed twice");
    TrustRoot emergency = make_root(1, {1}, 1);
    emergency.approver_emergency_threshold = 4;
    CHECK(TrustRoot::parse(emergency.to_json()).error().message() ==
          "trust root: roles.approver.emergency_threshold: 4 is not 1-3");
    std::vector<const PrivateKey*> none;
    CHECK_FALSE(TrustRoot::sign(emergency, none));
}

TEST_CASE("a trust root envelope of another type is refused", "[crypto]") {
    // A manifest envelope is never a root.
    Envelope envelope = sign_root(make_root(1, {1}, 1), {1});
    envelope.type = "patchwave.manifest";
    CHECK(verify_initial_root(envelope, kNow).error().message() ==
          "expected a trust root, got a \"patchwave.manifest\" document");
}
