#include <catch2/catch.hpp>

#include "crypto/envelope.hpp"
#include "support/test_keys.hpp"

using namespace patchwave;
using namespace patchwave::crypto;

namespace {
Envelope sample() {
    Envelope envelope{"patchwave.manifest", R"({"rollout":"2026-11-B"})", {}};
    envelope.sign(testing::test_key(1));
    envelope.sign(testing::test_key(2));
    return envelope;
}
}  // namespace

TEST_CASE("an envelope round-trips byte for byte", "[crypto]") {
    // decode(encode(e)) == e, and re-encoding gives the same bytes.
    const Envelope envelope = sample();
    const auto bytes = envelope.encode().value();
    const Envelope decoded = Envelope::decode(bytes).value();
    CHECK(decoded.type == envelope.type);
    CHECK(decoded.body == envelope.body);
    CHECK(decoded.signatures == envelope.signatures);
    CHECK(decoded.encode().value() == bytes);
}

TEST_CASE("every truncation of an envelope is refused", "[crypto]") {
    // No prefix of a valid envelope decodes.
    const auto bytes = sample().encode().value();
    for (std::size_t length = 0; length < bytes.size(); ++length) {
        auto decoded = Envelope::decode(std::span<const std::uint8_t>(bytes.data(), length));
        REQUIRE_FALSE(decoded);
        CHECK((decoded.error().message().starts_with("envelope truncated at byte") ||
               decoded.error().message().starts_with("not a Patchwave envelope")));
    }
}

TEST_CASE("trailing garbage after an envelope is refused", "[crypto]") {
    // One extra byte is enough to refuse the whole envelope.
    auto bytes = sample().encode().value();
    bytes.push_back(0);
    CHECK(Envelope::decode(bytes).error().message() == "1 trailing bytes after the envelope");
}

TEST_CASE("oversized envelopes are refused before parsing", "[crypto]") {
    // The cap is configurable and checked first.
    const auto bytes = sample().encode().value();
    auto decoded = Envelope::decode(bytes, bytes.size() - 1);
    REQUIRE_FALSE(decoded);
    CHECK(decoded.error().is(Errc::limit));
    CHECK(Envelope::decode(bytes, bytes.size()));
}

TEST_CASE("bad magic, bad types and too many signatures are refused", "[crypto]") {
    // Each malformed header field is its own error.
    auto bytes = sample().encode().value();
    auto bad_magic = bytes;
    bad_magic[3] = 2;  // a future format version
    CHECK(Envelope::decode(bad_magic).error().message() ==
          "not a Patchwave envelope (bad magic or unsupported format version)");
    auto bad_type = bytes;
    bad_type[5] = 'P';  // upper case is outside [a-z0-9.-]
    CHECK(Envelope::decode(bad_type).error().message() == "envelope type is not 1-64 characters of [a-z0-9.-]");

    Envelope many{"patchwave.status", "{}", {}};
    many.signatures.resize(Envelope::kMaxSignatures + 1);
    CHECK(many.encode().error().is(Errc::invalid_argument));
    many.signatures.resize(Envelope::kMaxSignatures);
    auto encoded = many.encode().value();
    encoded[4 + 1 + many.type.size() + 4 + many.body.size()] = 33;  // signature count field
    encoded.resize(encoded.size() + 96);
    CHECK(Envelope::decode(encoded).error().message() == "envelope claims 33 signatures, more than 32");
}

TEST_CASE("the signing message separates types and bodies", "[crypto]") {
    // Same body under another type, or moving bytes between type and body,
    // gives a different message, so signatures cannot be transplanted.
    const Envelope a{"patchwave.status", "x.control{}", {}};
    const Envelope b{"patchwave.status.x", "control{}", {}};
    const Envelope c{"patchwave.control", "x.control{}", {}};
    CHECK(a.signing_message() != b.signing_message());
    CHECK(a.signing_message() != c.signing_message());
}

TEST_CASE("a signature covers the type and every body byte", "[crypto]") {
    // A tampered byte or a changed type invalidates the signature.
    Envelope envelope = sample();
    const PublicKey signer = testing::test_key(1).public_key();
    CHECK(signer.verify(envelope.signing_message(), envelope.signatures[0].signature));
    Envelope tampered = envelope;
    tampered.body[3] ^= 1;
    CHECK_FALSE(signer.verify(tampered.signing_message(), tampered.signatures[0].signature));
    Envelope retyped = envelope;
    retyped.type = "patchwave.control";
    CHECK_FALSE(signer.verify(retyped.signing_message(), retyped.signatures[0].signature));
}
