#include "crypto/keys.hpp"

#include <algorithm>
#include <sodium.h>

#include "crypto/sodium_init.hpp"

namespace patchwave::crypto {

std::string base64_encode(std::span<const std::uint8_t> bytes) {
    ensure_sodium();
    std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(), sodium_base64_VARIANT_ORIGINAL);
    out.resize(out.size() - 1);  // the encoded length counts the terminating NUL
    return out;
}

Result<std::string> base64_decode(std::string_view text) {
    ensure_sodium();
    // libsodium 1.0.18 decodes any byte >= 0x80 as a digit (as "/"), so "é"
    // inside a key would give a second spelling of the same bytes (found by
    // tests/fuzz). Only the standard alphabet and padding are base64.
    const bool alphabet_only = std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
               c == '=';
    });
    if (!alphabet_only) return fail(Errc::parse, "invalid base64");
    std::string out(text.size() / 4 * 3 + 3, '\0');
    std::size_t length = 0;
    const char* end = nullptr;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(),
                          nullptr, &length, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != text.data() + text.size()) {
        return fail(Errc::parse, "invalid base64");
    }
    out.resize(length);
    return out;
}

Result<PublicKey> PublicKey::from_text(std::string_view text) {
    if (!text.starts_with(kTextPrefix)) {
        return fail(Errc::parse, "public key \"" + std::string(text) + "\" does not start with \"ed25519:\"");
    }
    auto raw = base64_decode(text.substr(kTextPrefix.size()));
    if (!raw || raw->size() != kSize) {
        return fail(Errc::parse, "public key \"" + std::string(text) + "\" is not 32 bytes of base64");
    }
    std::array<std::uint8_t, kSize> bytes{};
    std::copy(raw->begin(), raw->end(), bytes.begin());
    return PublicKey(bytes);
}

std::string PublicKey::to_text() const { return std::string(kTextPrefix) + base64_encode(bytes_); }

bool PublicKey::verify(std::span<const std::uint8_t> message, const Signature& signature) const {
    ensure_sodium();
    return crypto_sign_verify_detached(signature.data(), message.data(), message.size(), bytes_.data()) == 0;
}

PrivateKey PrivateKey::generate() {
    ensure_sodium();
    std::array<std::uint8_t, kSeedSize> seed{};
    randombytes_buf(seed.data(), seed.size());
    PrivateKey key = from_seed(seed);
    sodium_memzero(seed.data(), seed.size());
    return key;
}

PrivateKey PrivateKey::from_seed(std::span<const std::uint8_t, kSeedSize> seed) {
    ensure_sodium();
    PrivateKey key;
    std::array<std::uint8_t, PublicKey::kSize> public_bytes{};
    crypto_sign_seed_keypair(public_bytes.data(), key.secret_.data(), seed.data());
    key.public_key_ = PublicKey(public_bytes);
    return key;
}

PrivateKey::PrivateKey(PrivateKey&& other) noexcept
    : secret_(other.secret_), public_key_(other.public_key_) {
    other.wipe();
}

PrivateKey& PrivateKey::operator=(PrivateKey&& other) noexcept {
    if (this != &other) {
        secret_ = other.secret_;
        public_key_ = other.public_key_;
        other.wipe();
    }
    return *this;
}

PrivateKey::~PrivateKey() { wipe(); }

void PrivateKey::wipe() { sodium_memzero(secret_.data(), secret_.size()); }

std::span<const std::uint8_t, PrivateKey::kSeedSize> PrivateKey::seed() const {
    return std::span<const std::uint8_t, kSeedSize>(secret_.data(), kSeedSize);
}

Signature PrivateKey::sign(std::span<const std::uint8_t> message) const {
    Signature signature{};
    crypto_sign_detached(signature.data(), nullptr, message.data(), message.size(), secret_.data());
    return signature;
}

}  // namespace patchwave::crypto
