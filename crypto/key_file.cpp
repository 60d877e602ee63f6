#include "crypto/key_file.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <sodium.h>
#include <sys/stat.h>

namespace patchwave::crypto {
namespace {

constexpr std::string_view kKeyLinePrefix = "patchwave-private-key-v1:ed25519:";
constexpr std::uint64_t kMaxKeyFileBytes = 4096;

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\r')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
    return text;
}

// Wipes a string that held secret material when it goes out of scope.
struct WipeOnExit {
    std::string& text;
    ~WipeOnExit() { sodium_memzero(text.data(), text.size()); }
};

}  // namespace

Status save_private_key(const std::filesystem::path& path, const PrivateKey& key, Overwrite overwrite) {
    std::string text = "# Patchwave Ed25519 private key. Keep it secret (mode 0600).\n# public key: " +
                       key.public_key().to_text() + "\n" + std::string(kKeyLinePrefix) +
                       base64_encode(key.seed()) + "\n";
    WipeOnExit wipe{text};
    return with_context(write_file_atomic(path, text, 0600, overwrite), "saving private key");
}

Result<PrivateKey> load_private_key(const std::filesystem::path& path) {
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0) {
        return fail(errno == ENOENT ? Errc::not_found : Errc::io,
                    "private key " + path.string() + ": " + std::strerror(errno));
    }
    if (!S_ISREG(info.st_mode)) {
        return fail(Errc::io, "private key " + path.string() + " is not a regular file");
    }
    if ((info.st_mode & 077) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
        return fail(Errc::io, "private key " + path.string() + " is accessible by group or others (mode " + mode +
                                  "); run: chmod 600 " + path.string());
    }
    auto content = read_file(path, kMaxKeyFileBytes);
    if (!content) return std::unexpected(std::move(content.error()).with_context("private key"));
    WipeOnExit wipe{*content};

    return parse_private_key(*content, path.string());
}

Result<PrivateKey> parse_private_key(std::string_view text, std::string_view source) {
    std::optional<std::string> seed;
    std::size_t line_number = 0;
    std::string_view rest = text;
    while (!rest.empty()) {
        const std::size_t newline = rest.find('\n');
        const std::string_view line = trim(rest.substr(0, newline));
        rest = newline == std::string_view::npos ? std::string_view{} : rest.substr(newline + 1);
        ++line_number;
        if (line.empty() || line.front() == '#') continue;
        const std::string where = std::string(source) + ":" + std::to_string(line_number);
        if (!line.starts_with(kKeyLinePrefix)) {
            return fail(Errc::parse, where + ": not a Patchwave private key line (expected \"" +
                                         std::string(kKeyLinePrefix) + "...\")");
        }
        if (seed) return fail(Errc::parse, where + ": more than one key in the file");
        auto decoded = base64_decode(line.substr(kKeyLinePrefix.size()));
        if (!decoded || decoded->size() != PrivateKey::kSeedSize) {
            if (decoded) sodium_memzero(decoded->data(), decoded->size());
            return fail(Errc::parse, where + ": the key is not 32 bytes of base64");
        }
        seed = std::move(*decoded);
    }
    if (!seed) return fail(Errc::parse, "private key " + std::string(source) + ": no key line found");
    WipeOnExit wipe_seed{*seed};
    return PrivateKey::from_seed(std::span<const std::uint8_t, PrivateKey::kSeedSize>(
        reinterpret_cast<const std::uint8_t*>(seed->data()), PrivateKey::kSeedSize));
}

Result<PublicKey> load_public_key(const std::filesystem::path& path) {
    auto content = read_file(path, kMaxKeyFileBytes);
    if (!content) return std::unexpected(std::move(content.error()).with_context("public key"));
    auto key = PublicKey::from_text(trim(std::string_view(*content).substr(0, content->find('\n'))));
    if (!key) return std::unexpected(std::move(key.error()).with_context(path.string()));
    return key;
}

}  // namespace patchwave::crypto
