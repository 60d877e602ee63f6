#include "orchestrator/key_store.hpp"

#include <algorithm>

#include "common/hex.hpp"
#include "crypto/key_file.hpp"

namespace patchwave::orchestrator {

Result<std::vector<StoredKey>> load_keys(const std::filesystem::path& keys_dir) {
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(keys_dir, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->path().extension() == ".key") files.push_back(it->path());
    }
    if (ec) return fail(Errc::io, "cannot list " + keys_dir.string() + ": " + ec.message());
    std::sort(files.begin(), files.end());
    std::vector<StoredKey> keys;
    for (const auto& file : files) {
        auto key = crypto::load_private_key(file);
        if (!key) return std::unexpected(key.error());
        keys.push_back({file, std::move(*key)});
    }
    return keys;
}

Result<std::vector<crypto::PrivateKey>> signing_keys(const std::filesystem::path& keys_dir,
                                                     const crypto::TrustRoot& root, crypto::Role role,
                                                     std::size_t needed, std::span<const crypto::PrivateKey> extra) {
    const crypto::RoleKeys& allowed = root.role(role);
    if (needed == 0) needed = allowed.threshold;
    auto stored = load_keys(keys_dir);
    if (!stored) return std::unexpected(stored.error());
    for (const auto& key : extra) stored->push_back({{}, crypto::PrivateKey::from_seed(key.seed())});
    std::vector<crypto::PrivateKey> keys;
    for (auto& entry : *stored) {
        const bool listed = std::find(allowed.keys.begin(), allowed.keys.end(), entry.key.public_key()) !=
                            allowed.keys.end();
        const bool duplicate = std::any_of(keys.begin(), keys.end(), [&](const crypto::PrivateKey& held) {
            return held.public_key() == entry.key.public_key();
        });
        if (listed && !duplicate && keys.size() < needed) keys.push_back(std::move(entry.key));
    }
    if (keys.size() < needed) {
        return fail(Errc::not_found, "the home holds " + std::to_string(keys.size()) + " of the " +
                                         std::to_string(needed) + " " + std::string(crypto::to_string(role)) +
                                         " keys trust root v" + std::to_string(root.version) + " requires");
    }
    return keys;
}

Result<std::filesystem::path> import_key(const std::filesystem::path& keys_dir, const crypto::PrivateKey& key,
                                         crypto::Role role) {
    auto stored = load_keys(keys_dir);
    if (!stored) return std::unexpected(stored.error());
    for (const auto& entry : *stored) {
        if (entry.key.public_key() == key.public_key()) return entry.file;
    }
    const auto id = key.public_key().id();
    const auto file = keys_dir / (std::string(crypto::to_string(role)) + "-" +
                                  to_hex(std::span<const std::uint8_t>(id.data(), 4)) + ".key");
    if (auto ok = crypto::save_private_key(file, key); !ok) return std::unexpected(ok.error());
    return file;
}

}  // namespace patchwave::orchestrator
