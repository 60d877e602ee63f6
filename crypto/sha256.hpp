// SHA-256 (libsodium): one-shot and streaming digests, the hash behind key ids,
// content hashes for drift detection and the metadata digests approvals sign.
#pragma once

#include <array>
#include <cstdint>
#include <sodium.h>
#include <span>
#include <string>
#include <string_view>

namespace patchwave::crypto {

using Digest = std::array<std::uint8_t, 32>;

/// Incremental SHA-256 for data that arrives in pieces (files, directory walks).
class Sha256 {
public:
    Sha256();
    void update(std::span<const std::uint8_t> bytes);
    void update(std::string_view text);
    /// Finishes the digest; the object must not be updated afterwards.
    Digest finish();

private:
    crypto_hash_sha256_state state_{};
};

Digest sha256(std::span<const std::uint8_t> bytes);
Digest sha256(std::string_view text);
std::string digest_hex(const Digest& digest);

}  // namespace patchwave::crypto
