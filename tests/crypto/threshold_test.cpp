#include <catch2/catch.hpp>

#include "crypto/threshold.hpp"
#include "support/test_keys.hpp"

using namespace patchwave;
using namespace patchwave::crypto;

namespace {
constexpr std::string_view kType = "patchwave.manifest";

std::vector<PublicKey> allowed(std::initializer_list<std::uint8_t> ids) {
    std::vector<PublicKey> keys;
    for (auto id : ids) keys.push_back(testing::test_key(id).public_key());
    return keys;
}

Envelope signed_by(std::initializer_list<std::uint8_t> ids) {
    Envelope envelope{std::string(kType), R"({"v":1})", {}};
    for (auto id : ids) envelope.sign(testing::test_key(id));
    return envelope;
}
}  // namespace

TEST_CASE("K distinct allowed signers meet a threshold of K", "[crypto]") {
    // 2 of {1,2,3} with threshold 2 passes and names both signers.
    auto tally = verify_threshold(signed_by({1, 3}), kType, allowed({1, 2, 3}), 2, "release");
    REQUIRE(tally);
    CHECK(tally->valid_signers.size() == 2);
}

TEST_CASE("K-1 signatures are below the threshold", "[crypto]") {
    // One short of the threshold is refused as untrusted with the counts.
    auto tally = verify_threshold(signed_by({1}), kType, allowed({1, 2, 3}), 2, "release");
    REQUIRE_FALSE(tally);
    CHECK(tally.error().is(Errc::untrusted));
    CHECK(tally.error().message() == "release: 1 of 2 required signatures");
}

TEST_CASE("a duplicated signature counts once", "[crypto]") {
    // The same key signing twice is one signer, not two.
    Envelope envelope = signed_by({1});
    envelope.signatures.push_back(envelope.signatures[0]);
    auto tally = verify_threshold(envelope, kType, allowed({1, 2}), 2, "release");
    REQUIRE_FALSE(tally);
    CHECK(tally.error().message() == "release: 1 of 2 required signatures (1 duplicate)");
}

TEST_CASE("a key listed twice among allowed keys counts once", "[crypto]") {
    // Listing key 1 twice cannot make one signature meet a threshold of 2.
    std::vector<PublicKey> keys = allowed({1, 1});
    auto tally = verify_threshold(signed_by({1}), kType, keys, 2, "approver");
    REQUIRE_FALSE(tally);
    CHECK(tally.error().message() == "approver: threshold 2 cannot be met by 1 distinct keys");
}

TEST_CASE("a signature under an aliased key id does not count", "[crypto]") {
    // Key 1's signature presented under key 2's id verifies against key 2 only,
    // so it fails; the real key 1 signature still counts once.
    Envelope envelope = signed_by({1});
    EnvelopeSignature alias = envelope.signatures[0];
    alias.key_id = testing::test_key(2).public_key().id();
    envelope.signatures.push_back(alias);
    auto tally = verify_threshold(envelope, kType, allowed({1, 2}), 2, "release");
    REQUIRE_FALSE(tally);
    CHECK(tally.error().message() == "release: 1 of 2 required signatures (1 invalid)");
}

TEST_CASE("signatures by unknown keys do not count", "[crypto]") {
    // Keys outside the role are ignored, however many.
    auto tally = verify_threshold(signed_by({7, 8, 9}), kType, allowed({1, 2}), 1, "operator");
    REQUIRE_FALSE(tally);
    CHECK(tally.error().message() == "operator: 0 of 1 required signatures (3 by unknown keys)");
}

TEST_CASE("a tampered body invalidates every signature", "[crypto]") {
    // One flipped byte after signing: no signature verifies.
    Envelope envelope = signed_by({1, 2});
    envelope.body[2] ^= 0x20;
    auto tally = verify_threshold(envelope, kType, allowed({1, 2}), 1, "release");
    REQUIRE_FALSE(tally);
    CHECK(tally.error().message() == "release: 0 of 1 required signatures (2 invalid)");
}

TEST_CASE("the wrong document type is refused before signatures", "[crypto]") {
    // A validly signed status cannot be used where a manifest is expected.
    Envelope envelope{"patchwave.status", R"({"v":1})", {}};
    envelope.sign(testing::test_key(1));
    auto tally = verify_threshold(envelope, kType, allowed({1}), 1, "release");
    REQUIRE_FALSE(tally);
    CHECK(tally.error().message() == "expected a \"patchwave.manifest\" document, got \"patchwave.status\"");
}

TEST_CASE("a zero threshold is never satisfied", "[crypto]") {
    // Threshold 0 would accept unsigned documents: refuse it.
    auto tally = verify_threshold(signed_by({}), kType, allowed({1}), 0, "release");
    REQUIRE_FALSE(tally);
    CHECK(tally.error().is(Errc::untrusted));
}

TEST_CASE("a signature with a malleated S is refused", "[crypto]") {
    // Adding the group order L to S yields a non-canonical signature that
    // libsodium rejects, so it cannot be used to forge a second valid signature.
    Envelope envelope = signed_by({1});
    auto& s = envelope.signatures[0].signature;
    static constexpr std::array<std::uint8_t, 32> kOrder{0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                                                         0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                                                         0,    0,    0,    0,    0,    0,    0,    0,
                                                         0,    0,    0,    0,    0,    0,    0,    0x10};
    unsigned carry = 0;
    for (std::size_t i = 0; i < 32; ++i) {
        const unsigned sum = s[32 + i] + kOrder[i] + carry;
        s[32 + i] = static_cast<std::uint8_t>(sum);
        carry = sum >> 8;
    }
    auto tally = verify_threshold(envelope, kType, allowed({1}), 1, "release");
    REQUIRE_FALSE(tally);
    CHECK(tally.error().message() == "release: 0 of 1 required signatures (1 invalid)");
}
