// The signed envelope every Patchwave document travels in: the exact document
// bytes, their type, and signatures over both. Verify first, parse after.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "crypto/keys.hpp"

namespace patchwave::crypto {

struct EnvelopeSignature {
    KeyId key_id{};
    Signature signature{};
    friend bool operator==(const EnvelopeSignature&, const EnvelopeSignature&) = default;
};

/// A document type string, its exact bytes, and signatures (binary layout in
/// docs/formats.md). The body is never re-serialized: what was signed is what
/// is verified, and only then handed to a parser.
struct Envelope {
    static constexpr std::size_t kMaxTypeLength = 64;
    static constexpr std::size_t kMaxSignatures = 32;
    static constexpr std::size_t kDefaultMaxEncodedSize = 1 << 20;

    std::string type;
    std::string body;
    std::vector<EnvelopeSignature> signatures;

    /// The bytes a signature covers: a fixed context, the length-prefixed type
    /// and the length-prefixed body. Distinct types never share a message, so a
    /// signature on one kind of document cannot be replayed as another.
    std::vector<std::uint8_t> signing_message() const;

    /// Appends a signature by `key` over signing_message().
    void sign(const PrivateKey& key);

    /// Errc::invalid_argument when type or body break the format's limits.
    Result<std::vector<std::uint8_t>> encode() const;
    /// Refuses bad magic, truncation, trailing bytes, a type outside
    /// [a-z0-9.-]{1,64}, more than 32 signatures and input over `max_size`.
    static Result<Envelope> decode(std::span<const std::uint8_t> bytes,
                                   std::size_t max_size = kDefaultMaxEncodedSize);
    static Result<Envelope> decode(std::string_view bytes, std::size_t max_size = kDefaultMaxEncodedSize);

    friend bool operator==(const Envelope&, const Envelope&) = default;
};

/// Validates a type string: 1-64 characters from [a-z0-9.-].
bool is_valid_envelope_type(std::string_view type);

}  // namespace patchwave::crypto
