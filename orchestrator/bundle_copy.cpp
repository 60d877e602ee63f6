#include "orchestrator/bundle_copy.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <set>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "common/file_io.hpp"

namespace patchwave::orchestrator {
namespace {

namespace fs = std::filesystem;

// One file of the bundle: where it goes (relative to the bundle root) and
// where its bytes come from (itself, or the file a symlink resolves to).
struct PlannedFile {
    fs::path relative;
    fs::path content;
    bool executable = false;
    std::uint64_t size = 0;
};

class Descriptor {
public:
    explicit Descriptor(int fd) : fd_(fd) {}
    Descriptor(const Descriptor&) = delete;
    Descriptor& operator=(const Descriptor&) = delete;
    ~Descriptor() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }
    int release_close() {
        const int rc = ::close(fd_);
        fd_ = -1;
        return rc;
    }

private:
    int fd_;
};

std::unexpected<Error> refuse(const fs::path& shown, std::string_view why) {
    return fail(Errc::invalid_argument, shown.string() + ": " + std::string(why));
}

std::unexpected<Error> os_error(std::string_view what, const fs::path& path, int err) {
    return fail(err == ENOENT ? Errc::not_found : Errc::io,
                std::string(what) + " " + path.string() + ": " + std::strerror(err));
}

bool is_inside(const fs::path& candidate, const fs::path& root) {
    const fs::path relative = candidate.lexically_relative(root);
    return !relative.empty() && *relative.begin() != ".." && relative != ".";
}

bool is_executable(const struct stat& info) { return (info.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) != 0; }

// Checks one symlink and returns the regular file it stands for.
Result<PlannedFile> plan_symlink(const fs::path& path, const fs::path& root, const fs::path& shown) {
    std::error_code ec;
    const fs::path target = fs::read_symlink(path, ec);
    if (ec) return os_error("cannot read symlink", shown, ec.value());
    // An absolute link means one thing here and another on every host.
    if (target.is_absolute()) {
        return refuse(shown, "absolute symlink (to " + target.string() + ") is not allowed in a bundle; "
                                                                         "use a relative link or a copy");
    }
    // Lexically first, so a link out of DIR is named as such even when its
    // target does not exist here; then resolved, for links through links.
    const fs::path lexical = (path.parent_path() / target).lexically_normal();
    if (!is_inside(lexical, root)) return refuse(shown, "symlink to " + target.string() + " leaves the bundle directory");
    const fs::path resolved = fs::canonical(path, ec);
    if (ec) return refuse(shown, "dangling symlink (to " + target.string() + ")");
    if (!is_inside(resolved, root)) {
        return refuse(shown, "symlink to " + target.string() + " leaves the bundle directory");
    }
    struct stat info {};
    if (::stat(resolved.c_str(), &info) != 0) return os_error("cannot stat", resolved, errno);
    if (S_ISDIR(info.st_mode)) return refuse(shown, "symlinks to directories are not supported in bundles");
    if (!S_ISREG(info.st_mode)) return refuse(shown, "symlink to a special file (fifo, socket or device)");
    return PlannedFile{{}, resolved, is_executable(info), static_cast<std::uint64_t>(info.st_size)};
}

// Every file to copy, sorted, each checked; nothing is written yet.
Result<std::vector<PlannedFile>> plan_copy(const fs::path& source, const fs::path& root) {
    std::vector<PlannedFile> files;
    std::error_code ec;
    fs::recursive_directory_iterator it(root, fs::directory_options::none, ec);
    if (ec) return fail(Errc::io, "cannot list " + source.string() + ": " + ec.message());
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) return fail(Errc::io, "cannot list " + source.string() + ": " + ec.message());
        const fs::path relative = it->path().lexically_relative(root);
        const fs::path shown = source / relative;
        struct stat info {};
        if (::lstat(it->path().c_str(), &info) != 0) return os_error("cannot stat", shown, errno);
        if (S_ISDIR(info.st_mode)) continue;
        if (S_ISLNK(info.st_mode)) {
            auto planned = plan_symlink(it->path(), root, shown);
            if (!planned) return std::unexpected(planned.error());
            planned->relative = relative;
            files.push_back(std::move(*planned));
            continue;
        }
        if (!S_ISREG(info.st_mode)) {
            return refuse(shown, "not a regular file (fifo, socket or device); bundles hold files only");
        }
        files.push_back({relative, it->path(), is_executable(info), static_cast<std::uint64_t>(info.st_size)});
    }
    if (ec) return fail(Errc::io, "cannot list " + source.string() + ": " + ec.message());
    std::sort(files.begin(), files.end(),
              [](const PlannedFile& a, const PlannedFile& b) { return a.relative < b.relative; });
    return files;
}

// Creates the missing directories between `destination` and `directory`,
// remembering them so they can be fsynced once their entries are complete.
Status make_parents(const fs::path& destination, const fs::path& relative_dir, std::set<fs::path>& created) {
    fs::path current = destination;
    for (const fs::path& part : relative_dir) {
        current /= part;
        if (created.contains(current)) continue;
        if (::mkdir(current.c_str(), 0755) != 0 && errno != EEXIST) return os_error("cannot create", current, errno);
        if (::chmod(current.c_str(), 0755) != 0) return os_error("cannot chmod", current, errno);
        created.insert(current);
    }
    return {};
}

bool cancelled(const std::atomic<bool>* cancel) {
    return cancel != nullptr && cancel->load(std::memory_order_relaxed);
}

// Copies one file's bytes, reporting progress per chunk. copy_file_range lets
// the kernel (or a reflink) do the work; read/write covers file systems
// where it is not available.
Status copy_bytes(int from, int to, const fs::path& shown, std::uint64_t& done, std::uint64_t total,
                  const CopyProgress& progress, const std::atomic<bool>* cancel) {
    constexpr std::size_t kChunk = 4 << 20;
    bool kernel_copy = true;
    std::vector<char> buffer;
    for (;;) {
        if (cancelled(cancel)) return fail(Errc::state, "copying " + shown.string() + " was cancelled");
        ssize_t n = -1;
        if (kernel_copy) {
            n = ::copy_file_range(from, nullptr, to, nullptr, kChunk, 0);
            if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
                kernel_copy = false;
                continue;
            }
        } else {
            if (buffer.empty()) buffer.resize(1 << 20);
            n = ::read(from, buffer.data(), buffer.size());
            if (n > 0) {
                for (ssize_t written = 0; written < n;) {
                    const ssize_t w = ::write(to, buffer.data() + written, static_cast<std::size_t>(n - written));
                    if (w < 0 && errno == EINTR) continue;
                    if (w < 0) return os_error("cannot write a copy of", shown, errno);
                    written += w;
                }
            }
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return os_error("cannot copy", shown, errno);
        if (n == 0) return {};
        done += static_cast<std::uint64_t>(n);
        if (progress) progress(std::min(done, total), total);
    }
}

}  // namespace

Result<CopyStats> copy_bundle_directory(const fs::path& source, const fs::path& destination,
                                        const CopyProgress& progress, const std::atomic<bool>* cancel) {
    std::error_code ec;
    const fs::path root = fs::canonical(source, ec);
    if (ec) return fail(Errc::not_found, "cannot open bundle directory " + source.string() + ": " + ec.message());
    if (!fs::is_directory(root, ec)) return refuse(source, "not a directory");

    auto files = plan_copy(source, root);
    if (!files) return std::unexpected(files.error());
    CopyStats stats;
    std::uint64_t total = 0;
    for (const PlannedFile& file : *files) total += file.size;

    std::set<fs::path> created;
    for (const PlannedFile& file : *files) {
        const fs::path shown = source / file.relative;
        if (auto ok = make_parents(destination, file.relative.parent_path(), created); !ok) {
            return std::unexpected(ok.error());
        }
        // O_NOFOLLOW: a file swapped for a symlink after planning is refused.
        Descriptor from(::open(file.content.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
        if (from.get() < 0) return os_error("cannot open", shown, errno);
        struct stat info {};
        if (::fstat(from.get(), &info) != 0) return os_error("cannot stat", shown, errno);
        if (!S_ISREG(info.st_mode)) return refuse(shown, "is no longer a regular file");

        const fs::path target = destination / file.relative;
        const mode_t mode = file.executable ? 0755 : 0644;
        Descriptor to(::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
        if (to.get() < 0) return os_error("cannot create", target, errno);
        // The umask may have narrowed the mode; the bundle's bits are what count.
        if (::fchmod(to.get(), mode) != 0) return os_error("cannot chmod", target, errno);
        if (auto ok = copy_bytes(from.get(), to.get(), shown, stats.bytes, total, progress, cancel); !ok) {
            return std::unexpected(ok.error());
        }
        if (::fsync(to.get()) != 0) return os_error("cannot fsync", target, errno);
        if (to.release_close() != 0) return os_error("cannot close", target, errno);
        ++stats.files;
    }
    // Children before parents, so every entry is durable before its parent's.
    for (auto it = created.rbegin(); it != created.rend(); ++it) {
        if (auto ok = sync_directory(*it); !ok) return std::unexpected(ok.error());
    }
    if (auto ok = sync_directory(destination); !ok) return std::unexpected(ok.error());
    return stats;
}

}  // namespace patchwave::orchestrator
