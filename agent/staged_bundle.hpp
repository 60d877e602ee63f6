// The last look at a staged bundle directory before its commands run: only
// plain files and directories, nothing that leads out of it.
#pragma once

#include <filesystem>

#include "common/error.hpp"

namespace patchwave::agent {

/// A fetched bundle holds regular files and directories only: the swarm
/// writes plain files, and a bundle's id never covers a link or a device.
/// Anything else found in `directory` before an install attempt starts (a
/// symlink, wherever it points, a fifo, socket or device) was put there
/// after the content was verified, and is refused: Errc::untrusted naming
/// the path. Errc::io when the directory cannot be listed. At most
/// `max_entries` entries are looked at (Errc::limit beyond).
Status check_staged_bundle(const std::filesystem::path& directory, std::size_t max_entries = 1'000'000);

}  // namespace patchwave::agent
