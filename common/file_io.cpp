#include "common/file_io.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

namespace patchwave {
namespace {

std::unexpected<Error> os_error(std::string_view what, const std::filesystem::path& path, int err) {
    const Errc errc = err == ENOENT ? Errc::not_found : err == EEXIST ? Errc::already_exists : Errc::io;
    return fail(errc, std::string(what) + " " + path.string() + ": " + std::strerror(err));
}

// Closes the descriptor on every path out of a function.
class FileDescriptor {
public:
    explicit FileDescriptor(int fd) : fd_(fd) {}
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    ~FileDescriptor() { reset(); }
    int get() const { return fd_; }
    int reset() {
        const int rc = fd_ >= 0 ? ::close(fd_) : 0;
        fd_ = -1;
        return rc;
    }

private:
    int fd_;
};

std::filesystem::path temp_name_for(const std::filesystem::path& path) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    char suffix[40];
    std::snprintf(suffix, sizeof suffix, ".tmp.%d.%016llx", static_cast<int>(::getpid()),
                  static_cast<unsigned long long>(rng()));
    std::filesystem::path temp = path;
    temp += suffix;
    return temp;
}

}  // namespace

Result<std::string> read_file(const std::filesystem::path& path, std::uint64_t max_bytes) {
    FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return os_error("cannot open", path, errno);
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0) return os_error("cannot stat", path, errno);
    if (S_ISDIR(info.st_mode)) return fail(Errc::io, "cannot read " + path.string() + ": is a directory");
    if (static_cast<std::uint64_t>(info.st_size) > max_bytes) {
        return fail(Errc::limit, path.string() + " is " + std::to_string(info.st_size) +
                                     " bytes, more than the " + std::to_string(max_bytes) + " allowed");
    }
    std::string data;
    char buffer[65536];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) continue;
            return os_error("cannot read", path, errno);
        }
        if (n == 0) break;
        // The file may grow between fstat and read; the cap still holds.
        if (data.size() + static_cast<std::size_t>(n) > max_bytes) {
            return fail(Errc::limit, path.string() + " is larger than the " + std::to_string(max_bytes) +
                                         " bytes allowed");
        }
        data.append(buffer, static_cast<std::size_t>(n));
    }
    return data;
}

Status sync_directory(const std::filesystem::path& directory) {
    FileDescriptor fd(::open(directory.empty() ? "." : directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0) return os_error("cannot open directory", directory, errno);
    if (::fsync(fd.get()) != 0) return os_error("cannot sync directory", directory, errno);
    return {};
}

Status write_file_atomic(const std::filesystem::path& path, std::string_view data, mode_t mode,
                         Overwrite overwrite) {
    const std::filesystem::path temp = temp_name_for(path);
    FileDescriptor fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    if (fd.get() < 0) return os_error("cannot create", temp, errno);
    auto discard = [&](std::unexpected<Error> error) {
        fd.reset();
        ::unlink(temp.c_str());
        return error;
    };
    // The umask may have narrowed the mode; make it exactly what was asked.
    if (::fchmod(fd.get(), mode) != 0) return discard(os_error("cannot chmod", temp, errno));
    std::size_t written = 0;
    while (written < data.size()) {
        const ssize_t n = ::write(fd.get(), data.data() + written, data.size() - written);
        if (n < 0) {
            if (errno == EINTR) continue;
            return discard(os_error("cannot write", temp, errno));
        }
        written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0) return discard(os_error("cannot sync", temp, errno));
    if (fd.reset() != 0) return discard(os_error("cannot close", temp, errno));
    const int rc = overwrite == Overwrite::refuse
                       ? ::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE)
                       : ::rename(temp.c_str(), path.c_str());
    if (rc != 0) {
        const int err = errno;
        ::unlink(temp.c_str());
        if (err == EEXIST) return fail(Errc::already_exists, path.string() + " already exists; not overwriting it");
        return os_error("cannot rename into", path, err);
    }
    return sync_directory(path.parent_path());
}

}  // namespace patchwave
