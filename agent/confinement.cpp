#include "agent/confinement.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace patchwave::agent {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxWritable = 16;
constexpr std::size_t kMaxPrefixes = 64;

// The device nodes a confined command keeps; everything else under /dev
// (disks above all: writing a block device goes around any read-only mount)
// is out of reach.
constexpr const char* kDevices[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"};
constexpr std::size_t kDeviceCount = sizeof kDevices / sizeof kDevices[0];

// Capabilities that would undo the read-only mounts or go around them:
// mounting (SYS_ADMIN), raw devices and kernel code (RAWIO, MKNOD, MODULE,
// BPF, PERFMON), other processes' views (/proc/<pid>/root needs PTRACE),
// open_by_handle_at through a writable mount (DAC_READ_SEARCH), and the
// clock the agent judges expiry by (SYS_TIME).
constexpr int kDroppedCapabilities[] = {CAP_SYS_ADMIN,       CAP_SYS_MODULE, CAP_SYS_RAWIO, CAP_MKNOD, CAP_SYS_PTRACE,
                                        CAP_DAC_READ_SEARCH, CAP_SYS_TIME,   CAP_SYS_BOOT,  CAP_BPF,   CAP_PERFMON};

bool is_under(const fs::path& inner, const fs::path& outer) {
    const fs::path relative = inner.lexically_relative(outer);
    return !relative.empty() && *relative.begin() != "..";
}

// write(2) of a whole small buffer to a /proc file, async-signal-safe.
int write_proc(const char* path, const char* text, std::size_t length) noexcept {
    const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    const ssize_t written = ::write(fd, text, length);
    const int error = written == static_cast<ssize_t>(length) ? 0 : (written < 0 ? errno : EIO);
    ::close(fd);
    return error;
}

struct ProbeReport {
    int error;
    char stage[124];
};

}  // namespace

struct PreparedConfinement::Data {
    bool root = false;
    std::string uid_map;
    std::string gid_map;
    // Canonical writable paths, parents before children.
    std::vector<std::string> writable;
    // Directories to create in the private /tmp (parents first) so that the
    // writable paths below /tmp have somewhere to be mounted.
    std::vector<std::string> tmp_prefixes;
};

PreparedConfinement::PreparedConfinement(std::unique_ptr<Data> data) : data_(std::move(data)) {}
PreparedConfinement::~PreparedConfinement() = default;

Result<std::unique_ptr<PreparedConfinement>> prepare_confinement(const Confinement& confinement) {
    auto data = std::make_unique<PreparedConfinement::Data>();
    data->root = ::geteuid() == 0;
    data->uid_map = std::to_string(::getuid()) + " " + std::to_string(::getuid()) + " 1";
    data->gid_map = std::to_string(::getgid()) + " " + std::to_string(::getgid()) + " 1";
    std::vector<fs::path> paths;
    for (const fs::path& given : confinement.writable) {
        if (!given.is_absolute()) {
            return fail(Errc::invalid_argument, "confinement: writable path " + given.string() + " is not absolute");
        }
        std::error_code ec;
        const fs::path path = fs::canonical(given, ec);
        if (ec || !fs::is_directory(path, ec)) {
            return fail(Errc::invalid_argument,
                        "confinement: writable path " + given.string() + " is not an existing directory");
        }
        if (path == "/") {
            return fail(Errc::invalid_argument,
                        "confinement: " + given.string() + " is the file system root: nothing would be confined");
        }
        if (path == "/dev" || is_under(path, "/dev") || path == "/proc" || is_under(path, "/proc")) {
            return fail(Errc::invalid_argument, "confinement: writable path " + given.string()
                                                    + " is below /dev or /proc, which confined commands do not see");
        }
        if (path == "/tmp") continue;  // the private /tmp is writable anyway
        paths.push_back(path);
    }
    if (paths.size() > kMaxWritable) return fail(Errc::invalid_argument, "confinement: too many writable paths");
    // Parents first: a child mounted after its parent lands inside the parent's writable copy.
    std::sort(paths.begin(), paths.end(),
              [](const fs::path& a, const fs::path& b) { return a.string().size() < b.string().size(); });
    for (const fs::path& path : paths) {
        data->writable.push_back(path.string());
        if (!is_under(path, "/tmp")) continue;
        fs::path prefix = "/tmp";
        for (const auto& part : path.lexically_relative("/tmp")) {
            prefix /= part;
            const std::string text = prefix.string();
            if (std::find(data->tmp_prefixes.begin(), data->tmp_prefixes.end(), text) == data->tmp_prefixes.end())
                data->tmp_prefixes.push_back(text);
        }
    }
    if (data->tmp_prefixes.size() > kMaxPrefixes) {
        return fail(Errc::invalid_argument, "confinement: writable paths below /tmp are nested too deep");
    }
    return std::unique_ptr<PreparedConfinement>(new PreparedConfinement(std::move(data)));
}

int apply_confinement(const PreparedConfinement& prepared, const char** stage) noexcept {
    const PreparedConfinement::Data& d = prepared.data();
    auto failed = [stage](const char* what) {
        *stage = what;
        return errno != 0 ? errno : EPERM;
    };
    // Root enters a mount namespace directly; anyone else first enters a user
    // namespace mapping only its own ids, which grants the mount rights there
    // (and nothing outside: files it writes keep its real owner).
    if (::unshare(d.root ? CLONE_NEWNS : CLONE_NEWUSER | CLONE_NEWNS) != 0) return failed("entering a mount namespace");
    if (!d.root) {
        if (int error = write_proc("/proc/self/setgroups", "deny", 4); error != 0) {
            errno = error;
            return failed("writing /proc/self/setgroups");
        }
        if (int error = write_proc("/proc/self/uid_map", d.uid_map.data(), d.uid_map.size()); error != 0) {
            errno = error;
            return failed("writing /proc/self/uid_map");
        }
        if (int error = write_proc("/proc/self/gid_map", d.gid_map.data(), d.gid_map.size()); error != 0) {
            errno = error;
            return failed("writing /proc/self/gid_map");
        }
    }
    // Nothing done below may propagate back to the host's mounts.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return failed("making mounts private");

    // Writable copies and the device nodes are taken before the tree turns
    // read-only; a copy keeps its own (writable) flags when attached again.
    int trees[kMaxWritable];
    std::size_t tree_count = 0;
    for (const std::string& path : d.writable) {
        const int fd = ::open_tree(AT_FDCWD, path.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (fd < 0) return failed("copying a writable path");
        trees[tree_count++] = fd;
    }
    int devices[kDeviceCount];
    for (std::size_t i = 0; i < kDeviceCount; ++i) {
        devices[i] = ::open_tree(AT_FDCWD, kDevices[i], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (devices[i] < 0 && errno != ENOENT) return failed("copying a device node");
    }

    mount_attr read_only{};
    read_only.attr_set = MOUNT_ATTR_RDONLY;
    if (::mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, &read_only, sizeof read_only) != 0)
        return failed("making every mount read-only");

    if (::mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") != 0)
        return failed("mounting a private /tmp");
    if (::mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755") != 0)
        return failed("mounting a private /dev");
    for (std::size_t i = 0; i < kDeviceCount; ++i) {
        if (devices[i] < 0) continue;
        const int node = ::open(kDevices[i], O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
        if (node < 0) return failed("creating a device node");
        ::close(node);
        if (::move_mount(devices[i], "", AT_FDCWD, kDevices[i], MOVE_MOUNT_F_EMPTY_PATH) != 0)
            return failed("attaching a device node");
        ::close(devices[i]);
    }
    if (::mkdir("/dev/shm", 01777) != 0 || ::chmod("/dev/shm", 01777) != 0) return failed("creating /dev/shm");
    if (::symlink("/proc/self/fd", "/dev/fd") != 0 || ::symlink("/proc/self/fd/0", "/dev/stdin") != 0
        || ::symlink("/proc/self/fd/1", "/dev/stdout") != 0 || ::symlink("/proc/self/fd/2", "/dev/stderr") != 0) {
        return failed("creating the /dev links");
    }

    for (const std::string& prefix : d.tmp_prefixes) {
        if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) return failed("creating a mount point in /tmp");
    }
    for (std::size_t i = 0; i < tree_count; ++i) {
        if (::move_mount(trees[i], "", AT_FDCWD, d.writable[i].c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
            return failed("attaching a writable path");
        ::close(trees[i]);
    }

    // From here on nothing the command runs can regain what was dropped.
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return failed("setting no_new_privs");
    for (const int capability : kDroppedCapabilities) {
        // EINVAL: a capability this kernel does not know (BPF, PERFMON before 5.8).
        if (::prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0 && errno != EINVAL)
            return failed("dropping capabilities");
    }
    return 0;
}

Status confinement_available() {
    auto prepared = prepare_confinement(Confinement{});
    if (!prepared) return std::unexpected(prepared.error());
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return fail(Errc::io, std::string("pipe: ") + std::strerror(errno));
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(pipe_fds[0]);
        ::close(pipe_fds[1]);
        return fail(Errc::io, std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
        // Only memory copies and write(2) here: the caller may have threads.
        ProbeReport report{};
        const char* stage = "";
        report.error = apply_confinement(**prepared, &stage);
        if (report.error != 0) {
            for (std::size_t i = 0; i + 1 < sizeof report.stage && stage[i] != '\0'; ++i)
                report.stage[i] = stage[i];
            [[maybe_unused]] const ssize_t ignored = ::write(pipe_fds[1], &report, sizeof report);
            ::_exit(1);
        }
        ::_exit(0);
    }
    ::close(pipe_fds[1]);
    ProbeReport report{};
    ssize_t got = 0;
    while ((got = ::read(pipe_fds[0], &report, sizeof report)) < 0 && errno == EINTR) {
    }
    ::close(pipe_fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (got == static_cast<ssize_t>(sizeof report)) {
        report.stage[sizeof report.stage - 1] = '\0';
        return fail(Errc::state,
                    std::string("cannot confine commands here: ") + report.stage + ": " + std::strerror(report.error));
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return fail(Errc::state, "cannot confine commands here: the probe process failed");
    return {};
}

}  // namespace patchwave::agent
