#include "net/torrent_layout.hpp"

#include <algorithm>
#include <cstring>

#include <libtorrent/error_code.hpp>

namespace patchwave::net {

namespace lt = libtorrent;

std::string bundle_relative_path(const lt::file_storage& files, lt::file_index_t index) {
    std::string path = files.file_path(index);
    // Multi-file torrents keep every file under the root directory named by
    // the torrent; single-file torrents name the file itself.
    const std::string prefix = files.name() + "/";
    if (path.starts_with(prefix)) path.erase(0, prefix.size());
    return path;
}

std::map<lt::file_index_t, std::string> bundle_renames(const lt::file_storage& files) {
    std::map<lt::file_index_t, std::string> renames;
    for (const lt::file_index_t index : files.file_range()) {
        // Pad files are never written to disk; leave them where libtorrent wants them.
        if (files.pad_file_at(index)) continue;
        std::string relative = bundle_relative_path(files, index);
        if (relative != files.file_path(index)) renames.emplace(index, std::move(relative));
    }
    return renames;
}

Status check_bundle_layout(const lt::file_storage& files) {
    for (const lt::file_index_t index : files.file_range()) {
        if (files.pad_file_at(index)) continue;
        const std::string path = files.file_path(index);
        if ((files.file_flags(index) & lt::file_storage::flag_symlink) != lt::file_flags_t{}) {
            return fail(Errc::untrusted, "bundle file \"" + path + "\" is a symlink (to \"" + files.symlink(index) +
                                             "\"): bundles hold plain files only");
        }
        const std::string relative = bundle_relative_path(files, index);
        bool bad = relative.empty() || relative.front() == '/';
        for (std::size_t start = 0; !bad && start <= relative.size();) {
            const std::size_t end = std::min(relative.find('/', start), relative.size());
            const std::string_view part(relative.data() + start, end - start);
            bad = part.empty() || part == "." || part == "..";
            start = end + 1;
        }
        if (bad) {
            return fail(Errc::untrusted,
                        "bundle file \"" + path + "\" has a path that would leave the bundle directory");
        }
    }
    return {};
}

Result<std::shared_ptr<const lt::torrent_info>> load_torrent_info(std::string_view torrent) {
    lt::error_code ec;
    const lt::span<const char> bytes(torrent.data(), static_cast<std::ptrdiff_t>(torrent.size()));
    auto info = std::make_shared<lt::torrent_info>(bytes, ec, lt::from_span);
    if (ec) return fail(Errc::parse, "not a torrent file: " + ec.message());
    return std::shared_ptr<const lt::torrent_info>(std::move(info));
}

Status check_v2_only(const lt::torrent_info& info) {
    const lt::info_hash_t hashes = info.info_hashes();
    if (!hashes.has_v2()) return fail(Errc::parse, "torrent has no BitTorrent v2 info-hash; bundles are v2-only");
    if (hashes.has_v1()) return fail(Errc::parse, "torrent is a v1/v2 hybrid; bundles are v2-only");
    return {};
}

lt::sha256_hash to_sha256(const rollout::BundleId& id) {
    lt::sha256_hash hash;
    static_assert(sizeof(id) == lt::sha256_hash::size());
    std::memcpy(hash.data(), id.data(), id.size());
    return hash;
}

rollout::BundleId to_bundle_id(const lt::sha256_hash& hash) {
    rollout::BundleId id{};
    std::memcpy(id.data(), hash.data(), id.size());
    return id;
}

}  // namespace patchwave::net
