// Resume data on disk: one file per bundle under the swarm's state directory,
// written atomically, so a restarted process continues a download where it stopped.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "rollout/ids.hpp"

namespace patchwave::net {

/// Stores opaque resume blobs (libtorrent's bencoded resume data) by bundle id
/// in `<directory>/<bundle id hex>.resume`, mode 0600, written via temp file,
/// fsync and rename: a crash leaves the old blob or the new one, never half.
class ResumeStore {
public:
    /// Largest blob load() accepts; resume data for a bundle is a few KiB
    /// plus 32 bytes per piece, so this leaves ample room.
    static constexpr std::uint64_t max_blob_bytes = 64 * 1024 * 1024;

    explicit ResumeStore(std::filesystem::path directory) : directory_(std::move(directory)) {}

    /// Creates the directory (mode 0700) if needed.
    Status open();

    Status save(const rollout::BundleId& id, std::string_view blob) const;
    /// std::nullopt when nothing is stored for `id`.
    Result<std::optional<std::string>> load(const rollout::BundleId& id) const;
    /// Removing what is not there succeeds.
    Status remove(const rollout::BundleId& id) const;

    std::filesystem::path path_for(const rollout::BundleId& id) const;
    const std::filesystem::path& directory() const { return directory_; }

private:
    std::filesystem::path directory_;
};

}  // namespace patchwave::net
