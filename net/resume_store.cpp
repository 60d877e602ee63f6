#include "net/resume_store.hpp"

#include "common/file_io.hpp"

namespace patchwave::net {

namespace fs = std::filesystem;

Status ResumeStore::open() {
    std::error_code ec;
    fs::create_directories(directory_, ec);
    if (ec) return fail(Errc::io, "cannot create resume directory " + directory_.string() + ": " + ec.message());
    // Resume data names what this host downloads; keep it to ourselves.
    fs::permissions(directory_, fs::perms::owner_all, fs::perm_options::replace, ec);
    if (ec) return fail(Errc::io, "cannot restrict " + directory_.string() + ": " + ec.message());
    return {};
}

fs::path ResumeStore::path_for(const rollout::BundleId& id) const {
    return directory_ / (rollout::to_hex(id) + ".resume");
}

Status ResumeStore::save(const rollout::BundleId& id, std::string_view blob) const {
    return with_context(write_file_atomic(path_for(id), blob, 0600), "saving resume data");
}

Result<std::optional<std::string>> ResumeStore::load(const rollout::BundleId& id) const {
    auto blob = read_file(path_for(id), max_blob_bytes);
    if (!blob) {
        if (blob.error().is(Errc::not_found)) return std::optional<std::string>();
        return fail(blob.error().with_context("loading resume data"));
    }
    return std::optional<std::string>(std::move(*blob));
}

Status ResumeStore::remove(const rollout::BundleId& id) const {
    std::error_code ec;
    fs::remove(path_for(id), ec);
    if (ec) return fail(Errc::io, "cannot remove " + path_for(id).string() + ": " + ec.message());
    return {};
}

}  // namespace patchwave::net
