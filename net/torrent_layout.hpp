// How a bundle torrent maps onto a bundle directory: every file lives at its
// path inside the torrent minus the torrent's root name, whatever the layout.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <libtorrent/file_storage.hpp>
#include <libtorrent/info_hash.hpp>
#include <libtorrent/torrent_info.hpp>

#include "common/error.hpp"
#include "rollout/ids.hpp"

namespace patchwave::net {

/// The path of file `index` relative to the bundle directory. A multi-file
/// torrent stores "<name>/<path>", a single-file torrent just "<file>"; both
/// come back as the path inside the bundle directory. This is what lets the
/// save path always be the bundle directory itself (a single-file bundle seeded
/// with the directory's parent as save path would stall at 0% with no error).
std::string bundle_relative_path(const libtorrent::file_storage& files, libtorrent::file_index_t index);

/// The renames that place every (non-pad) file at its bundle-relative path
/// when the save path is the bundle directory. Empty for single-file torrents.
std::map<libtorrent::file_index_t, std::string> bundle_renames(const libtorrent::file_storage& files);

/// Checks the file list is one a bundle directory gives: no symlink entries
/// (BEP 47 "l"; build_bundle_torrent resolves links to the files they name),
/// and every path relative, without "." or ".." parts, so nothing can land
/// outside the staging directory. Errc::untrusted naming the file.
Status check_bundle_layout(const libtorrent::file_storage& files);

/// Parses .torrent bytes with libtorrent's default size limits; Errc::parse
/// with libtorrent's reason when they are not a torrent.
Result<std::shared_ptr<const libtorrent::torrent_info>> load_torrent_info(std::string_view torrent);

/// Checks a parsed torrent is a bundle torrent: v2 only (no v1 hashes).
Status check_v2_only(const libtorrent::torrent_info& info);

libtorrent::sha256_hash to_sha256(const rollout::BundleId& id);
rollout::BundleId to_bundle_id(const libtorrent::sha256_hash& hash);

}  // namespace patchwave::net
