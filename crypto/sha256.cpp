#include "crypto/sha256.hpp"

#include "common/hex.hpp"
#include "crypto/sodium_init.hpp"

namespace patchwave::crypto {

Sha256::Sha256() {
    ensure_sodium();
    crypto_hash_sha256_init(&state_);
}

void Sha256::update(std::span<const std::uint8_t> bytes) {
    crypto_hash_sha256_update(&state_, bytes.data(), bytes.size());
}

void Sha256::update(std::string_view text) {
    crypto_hash_sha256_update(&state_, reinterpret_cast<const unsigned char*>(text.data()), text.size());
}

Digest Sha256::finish() {
    Digest digest{};
    crypto_hash_sha256_final(&state_, digest.data());
    return digest;
}

Digest sha256(std::span<const std::uint8_t> bytes) {
    Sha256 hasher;
    hasher.update(bytes);
    return hasher.finish();
}

Digest sha256(std::string_view text) {
    Sha256 hasher;
    hasher.update(text);
    return hasher.finish();
}

std::string digest_hex(const Digest& digest) { return to_hex(digest); }

}  // namespace patchwave::crypto
