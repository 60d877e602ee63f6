#include "crypto/content_hash.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace patchwave::crypto {
namespace {

std::unexpected<Error> os_error(std::string_view what, const std::filesystem::path& path, int err) {
    return fail(err == ENOENT ? Errc::not_found : Errc::io,
                std::string(what) + " " + path.string() + ": " + std::strerror(err));
}

Status stream_file(const std::filesystem::path& path, Sha256& hasher) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return os_error("cannot open", path, errno);
    std::vector<std::uint8_t> buffer(65536);
    for (;;) {
        const ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            ::close(fd);
            return os_error("cannot read", path, err);
        }
        if (n == 0) break;
        hasher.update(std::span<const std::uint8_t>(buffer.data(), static_cast<std::size_t>(n)));
    }
    ::close(fd);
    return {};
}

// Each entry is framed with its kind and length-prefixed fields, so no two
// different trees can produce the same byte stream.
void frame(Sha256& hasher, char kind, std::string_view relative, unsigned mode, std::string_view payload) {
    const std::string header = std::string(1, kind) + " " + std::to_string(relative.size()) + ":" +
                               std::string(relative) + " " + std::to_string(mode) + " " +
                               std::to_string(payload.size()) + ":";
    hasher.update(header);
    hasher.update(payload);
    hasher.update("\n");
}

Status hash_entry(const std::filesystem::path& root, const std::string& relative, Sha256& tree) {
    const std::filesystem::path full = relative.empty() ? root : root / relative;
    struct stat info {};
    if (::lstat(full.c_str(), &info) != 0) return os_error("cannot stat", full, errno);
    const unsigned mode = static_cast<unsigned>(info.st_mode & 07777);
    if (S_ISREG(info.st_mode)) {
        Sha256 content;
        if (auto ok = stream_file(full, content); !ok) return ok;
        const Digest digest = content.finish();
        frame(tree, 'F', relative, mode,
              std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
        return {};
    }
    if (S_ISLNK(info.st_mode)) {
        std::error_code ec;
        const auto target = std::filesystem::read_symlink(full, ec);
        if (ec) return fail(Errc::io, "cannot read link " + full.string() + ": " + ec.message());
        frame(tree, 'L', relative, mode, target.native());
        return {};
    }
    if (S_ISDIR(info.st_mode)) {
        frame(tree, 'D', relative, mode, "");
        std::vector<std::string> names;
        std::error_code ec;
        for (std::filesystem::directory_iterator it(full, ec), end; !ec && it != end; it.increment(ec)) {
            names.push_back(it->path().filename().native());
        }
        if (ec) return fail(Errc::io, "cannot list " + full.string() + ": " + ec.message());
        std::sort(names.begin(), names.end());
        for (const auto& name : names) {
            if (auto ok = hash_entry(root, relative.empty() ? name : relative + "/" + name, tree); !ok) return ok;
        }
        return {};
    }
    // Devices, sockets and fifos: their identity is their kind and mode.
    frame(tree, 'O', relative, mode, "");
    return {};
}

}  // namespace

Result<Digest> hash_file(const std::filesystem::path& path) {
    Sha256 hasher;
    if (auto ok = stream_file(path, hasher); !ok) return std::unexpected(ok.error());
    return hasher.finish();
}

Result<Digest> hash_path(const std::filesystem::path& path) {
    Sha256 tree;
    if (auto ok = hash_entry(path, "", tree); !ok) return std::unexpected(ok.error());
    return tree.finish();
}

}  // namespace patchwave::crypto
