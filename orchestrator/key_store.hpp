// The home's private keys (keys/, 0700, files 0600): which of them may sign
// for a trust-root role, and importing new ones for rotations.
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "crypto/keys.hpp"
#include "crypto/trust_root.hpp"

namespace patchwave::orchestrator {

struct StoredKey {
    std::filesystem::path file;
    crypto::PrivateKey key;
};

/// Every private key file (*.key) in `keys_dir`, in file name order.
Result<std::vector<StoredKey>> load_keys(const std::filesystem::path& keys_dir);

/// The home's keys (and `extra` keys not yet imported) listed in `root` for
/// `role`, at least `needed` of them (the role's threshold when 0).
/// Errc::not_found says how many are missing: "the home holds 0 of the 1
/// release keys trust root v2 requires".
Result<std::vector<crypto::PrivateKey>> signing_keys(const std::filesystem::path& keys_dir,
                                                     const crypto::TrustRoot& root, crypto::Role role,
                                                     std::size_t needed = 0,
                                                     std::span<const crypto::PrivateKey> extra = {});

/// Saves `key` into keys/ as "<role>-<first 8 hex of its key id>.key" unless
/// the home already holds it; returns the file.
Result<std::filesystem::path> import_key(const std::filesystem::path& keys_dir, const crypto::PrivateKey& key,
                                         crypto::Role role);

}  // namespace patchwave::orchestrator
