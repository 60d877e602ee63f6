// Whole-file reads with a size cap, and crash-safe writes (temp file, fsync,
// rename, fsync of the directory): a reader sees the old file or the new, never half.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <sys/types.h>

#include "common/error.hpp"

namespace patchwave {

/// Reads a whole file; fails with Errc::limit when it is larger than max_bytes,
/// Errc::not_found when it does not exist.
Result<std::string> read_file(const std::filesystem::path& path, std::uint64_t max_bytes);

enum class Overwrite { allow, refuse };

/// Writes `data` to `path` atomically and durably, with permission bits `mode`
/// set on the file before any byte is written (so a secret is never readable
/// by others, even briefly). With Overwrite::refuse an existing file is left
/// untouched and Errc::already_exists returned.
Status write_file_atomic(const std::filesystem::path& path, std::string_view data, mode_t mode,
                         Overwrite overwrite = Overwrite::allow);

/// fsync on a directory, so a rename or a new entry in it survives power loss.
Status sync_directory(const std::filesystem::path& directory);

}  // namespace patchwave
