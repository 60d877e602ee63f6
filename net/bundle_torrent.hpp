// Bundle torrents: a bundle directory as a deterministic BitTorrent v2-only
// torrent whose info-hash is the bundle id, and the check that a directory matches one.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "rollout/ids.hpp"

namespace patchwave::net {

/// The root name every bundle torrent carries. Fixed, so a bundle id depends
/// only on the relative paths and bytes of the files, never on the name of the
/// directory it was built from (the catalog stores bundles under their id).
inline constexpr std::string_view bundle_root_name = "bundle";

/// A bundle torrent and what callers need to know about it without libtorrent.
struct BundleTorrent {
    rollout::BundleId id{};         ///< the v2 info-hash
    std::string torrent;            ///< the bencoded .torrent file
    std::uint64_t total_bytes = 0;  ///< payload bytes, pad files excluded
    std::uint32_t file_count = 0;   ///< files in the bundle, pad files excluded
    int piece_size = 0;
};

/// The piece size for a bundle of `total_bytes`: the power of two that gives
/// about 1024 pieces, between 16 KiB and 4 MiB. It is part of the id format
/// (the same bytes must give the same id), so change it only with a new format.
/// Why: v2 pieces are file-aligned and verified per 16 KiB block anyway; small
/// pieces let a peer pass a piece on sooner (store-and-forward delay is one
/// piece time per hop), while 1024 pieces keep HAVE traffic and the piece
/// layers in the metadata (32 bytes per piece) small.
int piece_size_for(std::uint64_t total_bytes);

/// Builds the v2-only torrent over every regular file under `directory`
/// (recursively; empty directories are not part of a bundle, file modes and
/// times are not recorded). No creation date, no creator, no attributes: the
/// same files give the same id anywhere. A symlink is taken as the file it
/// points to when that is a regular file inside the directory; a symlink that
/// leaves the directory, a dangling or directory symlink, or a special file is
/// refused (Errc::invalid_argument), as is a directory with no bytes at all.
/// Reads every byte; `cancel`, when set during the build, stops it (Errc::state).
/// `progress`, when given, is called in the calling thread as pieces are
/// hashed, with the payload bytes hashed so far and the total.
Result<BundleTorrent> build_bundle_torrent(
    const std::filesystem::path& directory, const std::atomic<bool>* cancel = nullptr,
    const std::function<void(std::uint64_t done, std::uint64_t total)>& progress = {});

/// Reads .torrent bytes as a bundle torrent: Errc::parse when they are not a
/// torrent or not v2-only.
Result<BundleTorrent> parse_bundle_torrent(std::string_view torrent);

/// Checks that `directory` holds exactly the bundle `id`: rebuilds the torrent
/// over it, independently of any libtorrent session, and compares the
/// info-hash. A missing, extra or modified file fails with Errc::untrusted.
Status verify_bundle_directory(const std::filesystem::path& directory, const rollout::BundleId& id,
                               const std::atomic<bool>* cancel = nullptr);

}  // namespace patchwave::net
