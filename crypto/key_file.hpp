// Private key files: one text line holding the Ed25519 seed, written 0600 and
// atomically, and refused on load when anyone but the owner could read it.
#pragma once

#include <filesystem>

#include "common/error.hpp"
#include "common/file_io.hpp"
#include "crypto/keys.hpp"

namespace patchwave::crypto {

/// Writes the key (format in docs/formats.md) with mode 0600. With
/// Overwrite::refuse an existing file is kept and Errc::already_exists returned.
Status save_private_key(const std::filesystem::path& path, const PrivateKey& key,
                        Overwrite overwrite = Overwrite::refuse);

/// Loads a key written by save_private_key. Fails when the file is group- or
/// world-accessible (the message says which mode it has and how to fix it),
/// when it is not a regular file, or when its content is malformed.
Result<PrivateKey> load_private_key(const std::filesystem::path& path);

/// The content check of load_private_key, on text already read: `#` comments
/// and blank lines, exactly one key line. Errors name `source` and the line.
Result<PrivateKey> parse_private_key(std::string_view text, std::string_view source);

/// Reads a public key from a file holding its text form (one line, "ed25519:...").
Result<PublicKey> load_public_key(const std::filesystem::path& path);

}  // namespace patchwave::crypto
