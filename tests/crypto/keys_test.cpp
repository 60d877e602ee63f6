#include <catch2/catch.hpp>

#include "common/hex.hpp"
#include "crypto/keys.hpp"
#include "support/test_keys.hpp"

using namespace patchwave;
using namespace patchwave::crypto;

TEST_CASE("a signature verifies only for its key and message", "[crypto]") {
    // Sign/verify round trip; another key, a changed byte or signature fail.
    const PrivateKey key = PrivateKey::generate();
    const std::vector<std::uint8_t> message{'p', 'a', 't', 'c', 'h'};
    Signature signature = key.sign(message);
    CHECK(key.public_key().verify(message, signature));
    CHECK_FALSE(PrivateKey::generate().public_key().verify(message, signature));
    auto changed = message;
    changed[0] ^= 1;
    CHECK_FALSE(key.public_key().verify(changed, signature));
    signature[10] ^= 0x40;
    CHECK_FALSE(key.public_key().verify(message, signature));
}

TEST_CASE("public keys round-trip through their text form", "[crypto]") {
    // "ed25519:<base64>" parses back to the same key with the same id.
    const PrivateKey key = testing::test_key(1);
    const std::string text = key.public_key().to_text();
    CHECK(text.starts_with("ed25519:"));
    CHECK(text.size() == 8 + 44);
    const PublicKey parsed = PublicKey::from_text(text).value();
    CHECK(parsed == key.public_key());
    CHECK(parsed.id() == sha256(std::span<const std::uint8_t>(key.public_key().bytes())));
}

TEST_CASE("malformed public key text is refused", "[crypto]") {
    // Wrong prefix, bad base64 and wrong length each fail with the text quoted.
    CHECK(PublicKey::from_text("rsa:AAAA").error().message() ==
          "public key \"rsa:AAAA\" does not start with \"ed25519:\"");
    CHECK(PublicKey::from_text("ed25519:!!!!").error().message() ==
          "public key \"ed25519:!!!!\" is not 32 bytes of base64");
    CHECK_FALSE(PublicKey::from_text("ed25519:AAAA"));
    const std::string text = testing::test_key(1).public_key().to_text();
    CHECK_FALSE(PublicKey::from_text(text + "A"));
}

TEST_CASE("keys from the same seed are the same key", "[crypto]") {
    // from_seed is deterministic; different seeds differ.
    CHECK(testing::test_key(3).public_key() == testing::test_key(3).public_key());
    CHECK(testing::test_key(3).public_key() != testing::test_key(4).public_key());
}

TEST_CASE("a moved-from private key no longer holds the secret", "[crypto]") {
    // Moving wipes the source, so secrets do not linger in copies.
    PrivateKey key = testing::test_key(5);
    PrivateKey moved = std::move(key);
    const auto& seed = key.seed();  // NOLINT(bugprone-use-after-move): checking the wipe
    CHECK(std::all_of(seed.begin(), seed.end(), [](std::uint8_t b) { return b == 0; }));
    CHECK(moved.public_key() == testing::test_key(5).public_key());
}

TEST_CASE("base64 decoding refuses garbage", "[crypto]") {
    // Standard alphabet with padding only.
    CHECK(base64_decode("aGVsbG8=").value() == "hello");
    CHECK_FALSE(base64_decode("aGVsbG8"));
    CHECK_FALSE(base64_decode("aGVs bG8="));
    CHECK_FALSE(base64_decode("aGVsbG8=="));
    // libsodium alone reads bytes >= 0x80 as digits: "QUJ\x80" would be "AB\x7f".
    CHECK_FALSE(base64_decode("QUJ\x80"));
    CHECK_FALSE(base64_decode("aGVsbG\xc3\xa9"));
}
