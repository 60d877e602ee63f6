// Drift detection: fingerprints of the paths bundles declare (and configured watched paths),
// recorded after an install and compared with the disk later; a change no approved bundle explains is drift.
#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/timestamp.hpp"
#include "rollout/ids.hpp"
#include "rollout/status_record.hpp"

namespace patchwave::agent {

/// How a declared path is read (one rule for recording and checking):
/// - `path` must be absolute with no `..` component (Errc::invalid_argument otherwise); `.` parts
///   and repeated slashes are tolerated. It is looked up under `system_root` as a process chrooted
///   into `system_root` would see it: symlinks are followed, an absolute link target starts again at
///   `system_root`, and `..` at `system_root` stays there. So a link can never make us read a host file
///   outside `system_root` (with system_root "/" this is exactly what any reader of the path reads).
///   More than 40 links on the way is Errc::io (a loop).
/// - What it finally names: a regular file is hashed by content only (crypto::hash_file, the SHA-256
///   of the bytes, so a chmod is not drift); a directory by crypto::hash_path (entries, kinds,
///   permission bits, content; links inside it by their target text, not followed); anything else
///   (fifo, socket, device) by crypto::hash_path too (its kind and mode, never opened); nothing there,
///   a dangling link or a lookup through a non-directory is "absent" (nullopt). "/" itself is refused
///   (Errc::invalid_argument): it would hash the whole system.
/// - Errc::io for what cannot be read (permission denied, I/O error); absent is not an error.
/// Resolution and hashing are not atomic: a path replaced between the two is read as it was then.

struct TrackedPath {
    std::string path;                         ///< as declared (absolute, as the host sees it)
    std::optional<std::string> digest;        ///< lower-case hex SHA-256; nullopt = absent
    std::optional<rollout::BundleId> bundle;  ///< the bundle that last set it (nullopt for watched paths)
    Timestamp recorded{};
    friend bool operator==(const TrackedPath&, const TrackedPath&) = default;
};

/// The text a DriftFinding uses for an absent path.
inline constexpr std::string_view kAbsent = "absent";

/// Hashes `path` under `system_root` now (rules above).
Result<std::optional<std::string>> digest_under_root(const std::filesystem::path& system_root, std::string_view path);

/// Baseline after a bundle is installed: every declared path hashed now, with `bundle` as its source.
/// Fails (naming the path) on the first path that is invalid or unreadable.
Result<std::vector<TrackedPath>> record_bundle_paths(const std::filesystem::path& system_root,
                                                     const rollout::BundleId& bundle,
                                                     std::span<const std::string> paths, Timestamp now);

/// Baseline of configured watched paths (bundle nullopt), hashed now. Fails like record_bundle_paths.
Result<std::vector<TrackedPath>> record_watched_paths(const std::filesystem::path& system_root,
                                                      std::span<const std::string> paths, Timestamp now);

/// Replaces the entries of `baseline` whose path an update names and appends the rest, keeping
/// `baseline` sorted by path. A later approved bundle explains a change, so its hash becomes the
/// expectation. Duplicate paths within `updates`: the last one wins.
void merge_baseline(std::vector<TrackedPath>& baseline, std::span<const TrackedPath> updates);

/// Compares the baseline with the disk. A finding keeps the `detected` time of the finding in `previous`
/// with the same path and expectation across checks, even when the content changed again meanwhile (the
/// drift began then); a new difference, or one against a new expectation, gets `now`. A path
/// back at its expected content drops out. Findings are sorted by path and capped at
/// StatusRecord::kMaxDriftFindings (the earliest detected kept). A path that cannot be checked (invalid or
/// unreadable) produces no finding of its own: its previous finding, if any, is carried over unchanged,
/// and its error is appended to `problems` when given, so one unreadable path neither hides the rest nor
/// makes a finding flap. Errc::io only when `system_root` itself is not a readable directory.
Result<std::vector<rollout::DriftFinding>> check_drift(const std::filesystem::path& system_root,
                                                       std::span<const TrackedPath> baseline,
                                                       std::span<const rollout::DriftFinding> previous, Timestamp now,
                                                       std::vector<Error>* problems = nullptr);

}  // namespace patchwave::agent
