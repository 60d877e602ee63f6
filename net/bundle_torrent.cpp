#include "net/bundle_torrent.hpp"

#include <algorithm>
#include <bit>
#include <exception>
#include <vector>

#include <libtorrent/create_torrent.hpp>
#include <libtorrent/posix_disk_io.hpp>
#include <libtorrent/settings_pack.hpp>

#include "net/torrent_layout.hpp"

namespace patchwave::net {
namespace {

namespace fs = std::filesystem;
namespace lt = libtorrent;

struct BundleFile {
    std::string relative;  // generic form, '/' separated
    std::uint64_t size;
};

// Thrown from libtorrent's per-piece callback to abandon a build; caught in
// build_bundle_torrent, so it never leaves this file.
struct BuildCancelled {};

bool is_inside(const fs::path& candidate, const fs::path& root) {
    const fs::path relative = candidate.lexically_relative(root);
    return !relative.empty() && *relative.begin() != "..";
}

std::unexpected<Error> refuse(const fs::path& path, std::string_view why) {
    return fail(Errc::invalid_argument, path.string() + ": " + std::string(why));
}

// Every file of the bundle, sorted by relative path, with symlinks resolved
// (or refused) as build_bundle_torrent documents.
Result<std::vector<BundleFile>> list_bundle_files(const fs::path& root) {
    std::vector<BundleFile> files;
    std::error_code ec;
    fs::recursive_directory_iterator it(root, fs::directory_options::none, ec);
    if (ec) return fail(Errc::io, "cannot list " + root.string() + ": " + ec.message());
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) return fail(Errc::io, "cannot list " + root.string() + ": " + ec.message());
        const fs::path& path = it->path();
        const fs::file_status link_status = it->symlink_status(ec);
        if (ec) return fail(Errc::io, "cannot stat " + path.string() + ": " + ec.message());
        fs::path content = path;
        if (fs::is_symlink(link_status)) {
            const fs::path target = fs::canonical(path, ec);
            if (ec) return refuse(path, "dangling symlink (" + ec.message() + ")");
            if (!is_inside(target, root)) {
                return refuse(path, "symlink to " + target.string() + " leaves the bundle directory");
            }
            if (fs::is_directory(target)) return refuse(path, "symlinks to directories are not supported in bundles");
            content = target;
        } else if (fs::is_directory(link_status)) {
            continue;
        }
        const fs::file_status status = fs::status(content, ec);
        if (ec) return fail(Errc::io, "cannot stat " + content.string() + ": " + ec.message());
        if (!fs::is_regular_file(status)) return refuse(path, "not a regular file (fifo, socket or device)");
        const std::uint64_t size = fs::file_size(content, ec);
        if (ec) return fail(Errc::io, "cannot stat " + content.string() + ": " + ec.message());
        files.push_back({path.lexically_relative(root).generic_string(), size});
    }
    std::sort(files.begin(), files.end(),
              [](const BundleFile& a, const BundleFile& b) { return a.relative < b.relative; });
    return files;
}

std::string short_id(const rollout::BundleId& id) {
    return rollout::short_hex(id);
}

}  // namespace

int piece_size_for(std::uint64_t total_bytes) {
    constexpr std::uint64_t min_piece = 16 * 1024;
    constexpr std::uint64_t max_piece = 4 * 1024 * 1024;
    const std::uint64_t wanted = std::bit_ceil(std::max<std::uint64_t>(total_bytes / 1024, 1));
    return static_cast<int>(std::clamp(wanted, min_piece, max_piece));
}

Result<BundleTorrent> build_bundle_torrent(const fs::path& directory, const std::atomic<bool>* cancel,
                                           const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
    std::error_code ec;
    const fs::path root = fs::canonical(directory, ec);
    if (ec) {
        const Errc errc = ec == std::errc::no_such_file_or_directory ? Errc::not_found : Errc::io;
        return fail(errc, "cannot open bundle directory " + directory.string() + ": " + ec.message());
    }
    if (!fs::is_directory(root)) return refuse(directory, "not a directory");
    if (!root.has_filename()) return refuse(directory, "the file system root cannot be a bundle");

    auto files = list_bundle_files(root);
    if (!files) return fail(files.error());
    std::uint64_t total = 0;
    for (const BundleFile& file : *files)
        total += file.size;
    if (total == 0) return refuse(directory, "holds no bytes to distribute (no files, or only empty ones)");

    // libtorrent hashes the files at <save path>/<root name>/<relative path>,
    // so build under the directory's own name, then rename the root to the
    // fixed bundle name before generating (the name is metadata only).
    lt::file_storage storage;
    const std::string hashing_root = root.filename().string();
    for (const BundleFile& file : *files) {
        // Install scripts must stay executable on every host: the executable
        // bit travels in the torrent (BEP 47 "x"), so the bundle id covers it.
        std::error_code mode_error;
        const auto perms = fs::status(root / file.relative, mode_error).permissions();
        const bool executable = !mode_error && (perms & fs::perms::owner_exec) != fs::perms::none;
        storage.add_file(hashing_root + "/" + file.relative, static_cast<std::int64_t>(file.size),
                         executable ? lt::file_storage::flag_executable : lt::file_flags_t{});
    }

    try {
        lt::create_torrent creator(storage, piece_size_for(total), lt::create_torrent::v2_only);
        creator.set_creation_date(0);
        lt::settings_pack settings;
        lt::error_code hash_error;
        // Pieces may complete out of order, so progress sums their sizes
        // (v2 pieces end at file boundaries: piece_size2 is the real size).
        std::uint64_t hashed = 0;
        const lt::file_storage& layout = creator.files();
        // posix I/O: mmap would map the whole bundle into our resident memory.
        lt::set_piece_hashes(
            creator, root.parent_path().string(), settings, lt::posix_disk_io_constructor,
            [cancel, &progress, &hashed, &layout, total](lt::piece_index_t piece) {
                if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) throw BuildCancelled{};
                if (progress) {
                    hashed = std::min(total, hashed + static_cast<std::uint64_t>(layout.piece_size2(piece)));
                    progress(hashed, total);
                }
            },
            hash_error);
        if (hash_error) return fail(Errc::io, "cannot hash " + root.string() + ": " + hash_error.message());
        storage.set_name(std::string(bundle_root_name));
        const std::vector<char> bytes = creator.generate_buf();
        return with_context(parse_bundle_torrent(std::string_view(bytes.data(), bytes.size())),
                            "reading back the torrent built over " + root.string());
    } catch (const BuildCancelled&) {
        return fail(Errc::state, "building the torrent over " + root.string() + " was cancelled");
    } catch (const std::exception& e) {
        return fail(Errc::io, "cannot build a torrent over " + root.string() + ": " + e.what());
    }
}

Result<BundleTorrent> parse_bundle_torrent(std::string_view torrent) {
    auto info = load_torrent_info(torrent);
    if (!info) return fail(info.error());
    if (auto v2 = check_v2_only(**info); !v2) return fail(v2.error());
    if (auto layout = check_bundle_layout((*info)->files()); !layout) return fail(layout.error());
    BundleTorrent result;
    result.id = to_bundle_id((*info)->info_hashes().v2);
    result.torrent = std::string(torrent);
    result.piece_size = (*info)->piece_length();
    const lt::file_storage& files = (*info)->files();
    for (const lt::file_index_t index : files.file_range()) {
        if (files.pad_file_at(index)) continue;
        result.total_bytes += static_cast<std::uint64_t>(files.file_size(index));
        ++result.file_count;
    }
    return result;
}

Status verify_bundle_directory(const fs::path& directory, const rollout::BundleId& id,
                               const std::atomic<bool>* cancel) {
    auto built = build_bundle_torrent(directory, cancel);
    if (!built) return fail(built.error().with_context("verifying " + directory.string()));
    if (built->id != id) {
        return fail(Errc::untrusted, directory.string() + " does not match bundle " + short_id(id)
                                         + ": its files hash to " + short_id(built->id)
                                         + " (a file is missing, extra or modified)");
    }
    return {};
}

}  // namespace patchwave::net
