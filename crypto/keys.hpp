// Ed25519 identities: public keys with a text form and a key id, private keys
// that sign and wipe themselves. Every signer in Patchwave is one of these.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "crypto/sha256.hpp"

namespace patchwave::crypto {

using KeyId = Digest;
using Signature = std::array<std::uint8_t, 64>;

class PublicKey {
public:
    static constexpr std::size_t kSize = 32;
    static constexpr std::string_view kTextPrefix = "ed25519:";

    PublicKey() = default;
    explicit PublicKey(const std::array<std::uint8_t, kSize>& bytes) : bytes_(bytes) {}

    /// "ed25519:<standard base64 of the 32 raw bytes>".
    static Result<PublicKey> from_text(std::string_view text);
    std::string to_text() const;

    /// SHA-256 of the 32 raw key bytes.
    KeyId id() const { return sha256(bytes_); }
    const std::array<std::uint8_t, kSize>& bytes() const { return bytes_; }

    /// True when `signature` is a valid Ed25519 signature of `message` by this
    /// key. libsodium refuses non-canonical signatures and small-order keys.
    bool verify(std::span<const std::uint8_t> message, const Signature& signature) const;

    friend auto operator<=>(const PublicKey&, const PublicKey&) = default;

private:
    std::array<std::uint8_t, kSize> bytes_{};
};

/// An Ed25519 secret key. Move-only; its bytes are wiped when it goes away.
class PrivateKey {
public:
    static constexpr std::size_t kSeedSize = 32;

    static PrivateKey generate();
    /// The same key every time for the same 32-byte seed.
    static PrivateKey from_seed(std::span<const std::uint8_t, kSeedSize> seed);

    PrivateKey(PrivateKey&& other) noexcept;
    PrivateKey& operator=(PrivateKey&& other) noexcept;
    PrivateKey(const PrivateKey&) = delete;
    PrivateKey& operator=(const PrivateKey&) = delete;
    ~PrivateKey();

    const PublicKey& public_key() const { return public_key_; }
    std::span<const std::uint8_t, kSeedSize> seed() const;
    Signature sign(std::span<const std::uint8_t> message) const;

private:
    PrivateKey() = default;
    void wipe();

    std::array<std::uint8_t, 64> secret_{};  // libsodium layout: seed || public key
    PublicKey public_key_;
};

/// Standard base64 with padding; decoding refuses anything else.
std::string base64_encode(std::span<const std::uint8_t> bytes);
Result<std::string> base64_decode(std::string_view text);

}  // namespace patchwave::crypto
