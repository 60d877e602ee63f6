// Copying a bundle directory into the home before it is hashed, so the catalog
// stores exactly the bytes the bundle id covers and never follows the author's links.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>

#include "common/error.hpp"

namespace patchwave::orchestrator {

struct CopyStats {
    std::uint64_t bytes = 0;
    std::uint32_t files = 0;
};

/// Called while copying: bytes copied so far and the total.
using CopyProgress = std::function<void(std::uint64_t done, std::uint64_t total)>;

/// Copies every regular file under `source` into `destination` (an existing,
/// empty directory), keeping relative paths and the executable bit (files
/// become 0755 or 0644; times and owners are not kept), and fsyncs every file
/// and directory written. A relative symlink to a regular file inside
/// `source` becomes a copy of that file. Checks everything before copying a
/// byte, and refuses (Errc::invalid_argument, naming the path under `source`):
/// absolute symlinks, symlinks that resolve outside `source`, dangling
/// symlinks, symlinks to directories, and special files (fifos, sockets,
/// devices). Empty directories are not copied: they are not part of a bundle.
/// `cancel`, when set, stops the copy (Errc::state); the caller removes what
/// was written.
Result<CopyStats> copy_bundle_directory(const std::filesystem::path& source,
                                        const std::filesystem::path& destination, const CopyProgress& progress = {},
                                        const std::atomic<bool>* cancel = nullptr);

}  // namespace patchwave::orchestrator
