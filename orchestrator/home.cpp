#include "orchestrator/home.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <random>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file_io.hpp"
#include "crypto/key_file.hpp"
#include "orchestrator/schema.hpp"
#include "orchestrator/trust_store.hpp"

namespace patchwave::orchestrator {
namespace {

constexpr std::string_view kDatabaseName = "patchwave.db";

std::string random_suffix() {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    char buffer[20];
    std::snprintf(buffer, sizeof buffer, "%012llx", static_cast<unsigned long long>(rng() & 0xffffffffffffULL));
    return buffer;
}

Status make_dir(const std::filesystem::path& path, mode_t mode) {
    if (::mkdir(path.c_str(), mode) != 0) {
        return fail(errno == EEXIST ? Errc::already_exists : Errc::io,
                    "cannot create " + path.string() + ": " + std::strerror(errno));
    }
    // The umask may have narrowed the mode.
    if (::chmod(path.c_str(), mode) != 0) return fail(Errc::io, "cannot chmod " + path.string() + ": " + std::strerror(errno));
    return {};
}

// Builds everything of a new home inside `staging`.
Result<InitReport> populate(const std::filesystem::path& staging, const InitOptions& options) {
    if (auto ok = make_dir(staging / "keys", 0700); !ok) return std::unexpected(ok.error());
    if (auto ok = make_dir(staging / "bundles", 0755); !ok) return std::unexpected(ok.error());
    if (auto ok = make_dir(staging / "tmp", 0700); !ok) return std::unexpected(ok.error());

    InitReport report;
    crypto::TrustRoot& root = report.root;
    root.version = 1;
    root.expires = options.now + options.root_lifetime;
    std::vector<std::pair<std::string, crypto::PrivateKey>> keys;
    const auto add_key = [&](const std::string& file_name, crypto::Role role) {
        crypto::PrivateKey key = crypto::PrivateKey::generate();
        root.role(role).keys.push_back(key.public_key());
        keys.emplace_back(file_name, std::move(key));
    };
    add_key("root.key", crypto::Role::root);
    add_key("release.key", crypto::Role::release);
    add_key("operator.key", crypto::Role::operator_);
    add_key("enrollment.key", crypto::Role::enrollment);
    for (std::uint32_t i = 1; i <= options.approvers; ++i) {
        add_key("approver-" + std::to_string(i) + ".key", crypto::Role::approver);
    }
    for (crypto::Role role : crypto::kAllRoles) root.role(role).threshold = 1;
    root.role(crypto::Role::approver).threshold = options.threshold;
    root.approver_emergency_threshold = options.emergency_threshold;
    if (auto valid = root.validate(); !valid) {
        return fail(Errc::invalid_argument, "cannot create a trust root: " + valid.error().message());
    }

    for (const auto& [name, key] : keys) {
        if (auto ok = crypto::save_private_key(staging / "keys" / name, key); !ok) return std::unexpected(ok.error());
    }
    const crypto::PrivateKey* root_key = &keys.front().second;
    auto envelope = crypto::TrustRoot::sign(root, std::span<const crypto::PrivateKey* const>(&root_key, 1));
    if (!envelope) return std::unexpected(envelope.error());

    auto db = Database::open(staging / kDatabaseName);
    if (!db) return std::unexpected(db.error());
    if (auto ok = migrate(*db); !ok) return std::unexpected(ok.error());
    if (auto ok = store_root(*db, *envelope, options.now); !ok) return std::unexpected(ok.error());
    // Checkpoint so the database is one file before the directory is renamed.
    if (auto ok = db->exec("PRAGMA wal_checkpoint(TRUNCATE)"); !ok) return std::unexpected(ok.error());
    return report;
}

std::vector<std::filesystem::path> key_files_of(const std::filesystem::path& home, const InitOptions& options) {
    std::vector<std::filesystem::path> files;
    for (const auto& name : {"root.key", "release.key", "operator.key", "enrollment.key"}) {
        files.push_back(home / "keys" / name);
    }
    for (std::uint32_t i = 1; i <= options.approvers; ++i) {
        files.push_back(home / "keys" / ("approver-" + std::to_string(i) + ".key"));
    }
    return files;
}

Status rename_no_replace(const std::filesystem::path& from, const std::filesystem::path& to, const std::string& what) {
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) != 0) {
        const int err = errno;
        return fail(err == EEXIST ? Errc::already_exists : Errc::io,
                    "cannot create " + what + " " + to.string() + ": " + std::strerror(err));
    }
    return {};
}

// A new home: built beside its final place and renamed in one step, so an
// interrupted init leaves at most a ".init-*" directory, never a half home.
Result<InitReport> init_new(const std::filesystem::path& path, const InitOptions& options) {
    std::error_code ec;
    const std::filesystem::path parent = path.has_parent_path() ? path.parent_path() : ".";
    if (!std::filesystem::is_directory(parent, ec)) {
        return fail(Errc::not_found, "cannot create home " + path.string() + ": " + parent.string() +
                                         " is not a directory");
    }
    const std::filesystem::path staging = path.string() + ".init-" + random_suffix();
    if (auto ok = make_dir(staging, 0700); !ok) return std::unexpected(ok.error());
    auto report = populate(staging, options);
    if (report) {
        if (auto moved = rename_no_replace(staging, path, "home"); !moved) {
            report = std::unexpected(moved.error());
        } else if (auto synced = sync_directory(parent); !synced) {
            return std::unexpected(synced.error());
        }
    }
    if (!report) std::filesystem::remove_all(staging, ec);
    return report;
}

// An existing empty home (a package's state directory, created by root for
// the service user, who cannot write its parent): built in a hidden
// directory inside it, then moved up entry by entry with the database last.
// A home is a home when its database exists (Home::open), so an interrupted
// init leaves no home, and the entries it did move make the directory
// non-empty: the next init refuses instead of mixing two sets of keys.
Result<InitReport> init_in_place(const std::filesystem::path& path, const InitOptions& options) {
    std::error_code ec;
    const std::filesystem::path staging = path / (".init-" + random_suffix());
    if (auto ok = make_dir(staging, 0700); !ok) return std::unexpected(ok.error());
    auto report = populate(staging, options);
    std::vector<std::filesystem::path> moved;
    if (report) {
        std::vector<std::filesystem::path> entries;
        for (std::filesystem::directory_iterator it(staging, ec), end; !ec && it != end; it.increment(ec)) {
            if (it->path().filename() != kDatabaseName) entries.push_back(it->path().filename());
        }
        if (ec) report = fail(Errc::io, "cannot list " + staging.string() + ": " + ec.message());
        entries.push_back(std::filesystem::path(kDatabaseName));
        for (const auto& name : entries) {
            if (!report) break;
            if (auto ok = rename_no_replace(staging / name, path / name, "home entry"); !ok) {
                report = std::unexpected(ok.error());
            } else {
                moved.push_back(path / name);
            }
        }
        if (report) {
            if (auto synced = sync_directory(path); !synced) report = std::unexpected(synced.error());
        }
    }
    if (!report) {
        // Only what this init moved: the directory was empty when it began.
        for (auto it = moved.rbegin(); it != moved.rend(); ++it) std::filesystem::remove_all(*it, ec);
    }
    std::filesystem::remove_all(staging, ec);
    return report;
}

}  // namespace

std::filesystem::path resolve_home(const std::optional<std::string>& flag) {
    if (flag && !flag->empty()) return *flag;
    if (const char* env = std::getenv("PATCHWAVE_HOME"); env != nullptr && *env != '\0') return env;
    return "/var/lib/patchwave";
}

Result<InitReport> Home::init(const std::filesystem::path& path, const InitOptions& options) {
    std::error_code ec;
    const auto status = std::filesystem::symlink_status(path, ec);
    const bool exists = std::filesystem::exists(status);
    if (exists) {
        if (!std::filesystem::is_directory(status)) {
            return fail(Errc::already_exists,
                        "home " + path.string() + " already exists and is not a directory; refusing to overwrite it");
        }
        const bool empty = std::filesystem::is_empty(path, ec);
        if (ec) return fail(Errc::io, "cannot read home " + path.string() + ": " + ec.message());
        if (!empty && std::filesystem::exists(path / kDatabaseName, ec)) {
            return fail(Errc::already_exists, "home " + path.string() + " already exists; refusing to overwrite it");
        }
        if (!empty) {
            return fail(Errc::already_exists,
                        "home " + path.string() +
                            " is not empty but holds no patchwave.db (left by an interrupted init, or another "
                            "directory); refusing to write into it: empty it or pass another --home");
        }
    }
    auto report = exists ? init_in_place(path, options) : init_new(path, options);
    if (report) report->key_files = key_files_of(path, options);
    return report;
}

Result<Home> Home::open(const std::filesystem::path& path, LockMode mode, bool wait) {
    std::error_code ec;
    if (!std::filesystem::exists(path / kDatabaseName, ec)) {
        return fail(Errc::not_found, "no Patchwave home at " + path.string() +
                                         " (create one with `patchwave init`, or pass --home)");
    }
    const std::filesystem::path lock_path = path / "lock";
    const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return fail(Errc::io, "cannot open " + lock_path.string() + ": " + std::strerror(errno));
    if (::flock(fd, (mode == LockMode::exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB)) != 0) {
        const int err = errno;
        ::close(fd);
        if (err == EWOULDBLOCK) return fail(Errc::timeout, "home " + path.string() + " is busy (another command holds it)");
        return fail(Errc::io, "cannot lock " + lock_path.string() + ": " + std::strerror(err));
    }
    if (mode == LockMode::exclusive) {
        // Whatever an interrupted command left half-written is garbage now.
        for (std::filesystem::directory_iterator it(path / "tmp", ec), end; !ec && it != end; it.increment(ec)) {
            std::error_code ignored;
            std::filesystem::remove_all(it->path(), ignored);
        }
    }
    auto db = Database::open(path / kDatabaseName);
    if (db) {
        if (auto ok = migrate(*db); !ok) db = std::unexpected(ok.error());
    }
    if (!db) {
        ::close(fd);
        return std::unexpected(db.error());
    }
    return Home(path, fd, std::move(*db));
}

Home::Home(Home&& other) noexcept
    : path_(std::move(other.path_)), lock_fd_(other.lock_fd_), db_(std::move(other.db_)) {
    other.lock_fd_ = -1;
}

Home::~Home() {
    if (lock_fd_ >= 0) ::close(lock_fd_);
}

Result<std::filesystem::path> Home::make_temp_dir(std::string_view purpose) const {
    const auto dir = tmp_dir() / (std::string(purpose) + "-" + random_suffix());
    if (auto ok = make_dir(dir, 0700); !ok) return std::unexpected(ok.error());
    return dir;
}

}  // namespace patchwave::orchestrator
