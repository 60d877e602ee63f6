// Streaming SHA-256 of files and whole directory trees, the fingerprints the
// agent records after an install and compares later to find drift.
#pragma once

#include <filesystem>

#include "common/error.hpp"
#include "crypto/sha256.hpp"

namespace patchwave::crypto {

/// SHA-256 of a regular file's content, read in 64 KiB blocks.
Result<Digest> hash_file(const std::filesystem::path& path);

/// A fingerprint of whatever is at `path`, without following symlinks:
/// a file's content and permission bits; a symlink's target text; a
/// directory's entries in byte order of their relative paths, each with kind,
/// permission bits and content. Errc::not_found when nothing is there.
/// Two trees have equal fingerprints exactly when those properties are equal
/// (encoding in docs/formats.md).
Result<Digest> hash_path(const std::filesystem::path& path);

}  // namespace patchwave::crypto
