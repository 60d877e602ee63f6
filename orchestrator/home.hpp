// The orchestrator's home directory: keys, the SQLite database and the bundle
// catalog, created atomically by init and locked while a command runs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/duration.hpp"
#include "common/error.hpp"
#include "common/timestamp.hpp"
#include "crypto/keys.hpp"
#include "crypto/trust_root.hpp"
#include "orchestrator/sqlite.hpp"

namespace patchwave::orchestrator {

/// --home, else $PATCHWAVE_HOME, else /var/lib/patchwave.
std::filesystem::path resolve_home(const std::optional<std::string>& flag);

struct InitOptions {
    std::uint32_t approvers = 3;
    std::uint32_t threshold = 2;
    std::uint32_t emergency_threshold = 1;
    Duration root_lifetime = std::chrono::days(365);
    Timestamp now{};
};

struct InitReport {
    crypto::TrustRoot root;
    std::vector<std::filesystem::path> key_files;  ///< every private key written, role keys first
};

enum class LockMode { shared, exclusive };

/// An open home. Holds the home's lock (shared for readers, exclusive for
/// writers) for as long as it lives, so commands never interleave writes.
class Home {
public:
    /// Creates a home at `path`: every key, root v1, the database. A new
    /// home is built in a sibling directory and renamed into place; an
    /// existing empty directory (a package's state directory) is filled from
    /// a hidden one inside it, the database last. Either way an interrupted
    /// init leaves no home. Refuses (Errc::already_exists) a `path` that
    /// exists and is not an empty directory.
    static Result<InitReport> init(const std::filesystem::path& path, const InitOptions& options);

    /// Opens an existing home (Errc::not_found with a hint to run init). An
    /// exclusive open also removes what interrupted commands left in tmp/.
    /// With `wait` false it does not queue behind another command holding
    /// the lock: Errc::timeout ("busy") instead (the daemon retries later
    /// rather than stall its event loop).
    static Result<Home> open(const std::filesystem::path& path, LockMode mode, bool wait = true);

    Home(Home&& other) noexcept;
    Home& operator=(Home&&) = delete;
    Home(const Home&) = delete;
    Home& operator=(const Home&) = delete;
    ~Home();

    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path keys_dir() const { return path_ / "keys"; }
    std::filesystem::path bundles_dir() const { return path_ / "bundles"; }
    std::filesystem::path tmp_dir() const { return path_ / "tmp"; }
    Database& db() { return db_; }

    /// A new empty directory under tmp/ for a write in progress; rename it
    /// into place when complete.
    Result<std::filesystem::path> make_temp_dir(std::string_view purpose) const;

private:
    Home(std::filesystem::path path, int lock_fd, Database db)
        : path_(std::move(path)), lock_fd_(lock_fd), db_(std::move(db)) {}
    std::filesystem::path path_;
    int lock_fd_ = -1;
    Database db_;
};

}  // namespace patchwave::orchestrator
