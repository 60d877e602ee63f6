#include "agent/drift_monitor.hpp"

#include <algorithm>
#include <cerrno>
#include <map>
#include <system_error>

#include "crypto/content_hash.hpp"
#include "crypto/sha256.hpp"

namespace patchwave::agent {
namespace {

namespace fs = std::filesystem;

// As many links as Linux follows in one lookup (MAXSYMLINKS).
constexpr int kMaxLinks = 40;

// The parts of a slash-separated path, without empty and "." parts.
std::vector<std::string> split(std::string_view text) {
    std::vector<std::string> parts;
    while (!text.empty()) {
        const auto slash = text.find('/');
        const auto part = text.substr(0, slash);
        if (!part.empty() && part != ".") parts.emplace_back(part);
        if (slash == std::string_view::npos) break;
        text.remove_prefix(slash + 1);
    }
    return parts;
}

Status validate_declared(std::string_view path) {
    if (path.empty() || path.front() != '/') {
        return fail(Errc::invalid_argument, "path \"" + std::string(path) + "\" is not absolute");
    }
    if (path.find('\0') != std::string_view::npos) {
        return fail(Errc::invalid_argument, "path \"" + std::string(path) + "\" contains a NUL character");
    }
    const auto parts = split(path);
    if (std::find(parts.begin(), parts.end(), "..") != parts.end()) {
        return fail(Errc::invalid_argument,
                    "path \"" + std::string(path) + "\" contains \"..\" and could escape the system root");
    }
    if (parts.empty()) return fail(Errc::invalid_argument, "path \"/\" would hash the whole system root");
    return {};
}

bool is_absent_error(const std::error_code& ec) {
    return ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory;
}

// Where `path` leads under `system_root` as a process chrooted there would see it (the rules in the header),
// as a host path none of whose components is a symlink; nullopt when nothing is there.
Result<std::optional<fs::path>> resolve_under_root(const fs::path& system_root, std::string_view path) {
    auto pending = split(path);
    std::reverse(pending.begin(), pending.end());  // a stack: the next part is at the back
    std::vector<std::string> resolved;
    int links = 0;
    auto host_path = [&](const std::vector<std::string>& parts) {
        fs::path full = system_root;
        for (const auto& part : parts)
            full /= part;
        return full;
    };
    while (!pending.empty()) {
        std::string part = std::move(pending.back());
        pending.pop_back();
        if (part == "..") {  // only from a link target; at the root it stays at the root, as in a chroot
            if (!resolved.empty()) resolved.pop_back();
            continue;
        }
        resolved.push_back(std::move(part));
        const fs::path candidate = host_path(resolved);
        std::error_code ec;
        const auto status = fs::symlink_status(candidate, ec);
        if (ec) {
            if (is_absent_error(ec)) return std::optional<fs::path>{};
            return fail(Errc::io, "cannot examine " + candidate.string() + ": " + ec.message());
        }
        if (status.type() == fs::file_type::not_found) return std::optional<fs::path>{};
        if (fs::is_symlink(status)) {
            if (++links > kMaxLinks) {
                return fail(Errc::io, "more than " + std::to_string(kMaxLinks) + " symbolic links resolving "
                                          + std::string(path) + " (a loop?)");
            }
            const auto target = fs::read_symlink(candidate, ec);
            if (ec) return fail(Errc::io, "cannot read link " + candidate.string() + ": " + ec.message());
            resolved.pop_back();
            const std::string& text = target.native();
            if (!text.empty() && text.front() == '/') resolved.clear();
            auto parts = split(text);
            pending.insert(pending.end(), parts.rbegin(), parts.rend());
            continue;
        }
        // A reader gets ENOTDIR looking through a non-directory: nothing is at the path.
        if (!pending.empty() && !fs::is_directory(status)) return std::optional<fs::path>{};
    }
    return std::optional<fs::path>{host_path(resolved)};
}

Result<std::vector<TrackedPath>> record_paths(const fs::path& system_root,
                                              const std::optional<rollout::BundleId>& bundle,
                                              std::span<const std::string> paths, Timestamp now) {
    std::vector<TrackedPath> records;
    records.reserve(paths.size());
    for (const auto& path : paths) {
        auto digest = digest_under_root(system_root, path);
        if (!digest) return std::unexpected(std::move(digest.error()).with_context("recording " + path));
        records.push_back(TrackedPath{path, std::move(*digest), bundle, now});
    }
    return records;
}

std::string fingerprint_text(const std::optional<std::string>& digest) {
    return digest ? *digest : std::string(kAbsent);
}

}  // namespace

Result<std::optional<std::string>> digest_under_root(const fs::path& system_root, std::string_view path) {
    if (auto valid = validate_declared(path); !valid) return std::unexpected(std::move(valid.error()));
    auto resolved = resolve_under_root(system_root, path);
    if (!resolved) return std::unexpected(std::move(resolved.error()));
    if (!*resolved) return std::optional<std::string>{};
    const fs::path& full = **resolved;

    std::error_code ec;
    const auto status = fs::symlink_status(full, ec);
    if (ec || status.type() == fs::file_type::not_found) {
        if (!ec || is_absent_error(ec)) return std::optional<std::string>{};
        return fail(Errc::io, "cannot examine " + full.string() + ": " + ec.message());
    }
    // Content only for a file (a chmod is not drift); the whole tree for a directory; kind and mode for the rest.
    auto digest = fs::is_regular_file(status) ? crypto::hash_file(full) : crypto::hash_path(full);
    if (!digest) {
        if (digest.error().is(Errc::not_found)) return std::optional<std::string>{};  // removed meanwhile
        return std::unexpected(std::move(digest.error()).with_context("hashing " + std::string(path)));
    }
    return std::optional<std::string>{crypto::digest_hex(*digest)};
}

Result<std::vector<TrackedPath>> record_bundle_paths(const fs::path& system_root, const rollout::BundleId& bundle,
                                                     std::span<const std::string> paths, Timestamp now) {
    return record_paths(system_root, bundle, paths, now);
}

Result<std::vector<TrackedPath>> record_watched_paths(const fs::path& system_root, std::span<const std::string> paths,
                                                      Timestamp now) {
    return record_paths(system_root, std::nullopt, paths, now);
}

void merge_baseline(std::vector<TrackedPath>& baseline, std::span<const TrackedPath> updates) {
    std::map<std::string, TrackedPath> by_path;
    for (auto& entry : baseline)
        by_path.insert_or_assign(entry.path, std::move(entry));
    for (const auto& update : updates)
        by_path.insert_or_assign(update.path, update);
    baseline.clear();
    baseline.reserve(by_path.size());
    for (auto& [path, entry] : by_path)
        baseline.push_back(std::move(entry));
}

Result<std::vector<rollout::DriftFinding>> check_drift(const fs::path& system_root,
                                                       std::span<const TrackedPath> baseline,
                                                       std::span<const rollout::DriftFinding> previous, Timestamp now,
                                                       std::vector<Error>* problems) {
    std::error_code ec;
    if (!fs::is_directory(system_root, ec)) {
        return fail(Errc::io, "checking drift: system root " + system_root.string()
                                  + (ec ? " cannot be read: " + ec.message() : " is not a directory"));
    }
    std::map<std::string, const rollout::DriftFinding*> earlier;
    for (const auto& finding : previous)
        earlier.insert_or_assign(finding.path, &finding);

    std::vector<rollout::DriftFinding> findings;
    for (const auto& tracked : baseline) {
        const std::string expected = fingerprint_text(tracked.digest);
        const auto before = earlier.find(tracked.path);
        const rollout::DriftFinding* previous_finding =
            before != earlier.end() && before->second->expected == expected ? before->second : nullptr;
        auto digest = digest_under_root(system_root, tracked.path);
        if (!digest) {
            if (problems != nullptr) problems->push_back(std::move(digest.error()).with_context("checking drift"));
            if (previous_finding != nullptr) findings.push_back(*previous_finding);
            continue;
        }
        if (*digest == tracked.digest) continue;
        findings.push_back(rollout::DriftFinding{
            .path = tracked.path,
            .expected = expected,
            .actual = fingerprint_text(*digest),
            .bundle = tracked.bundle,
            .detected = previous_finding != nullptr ? previous_finding->detected : now,
        });
    }
    const std::size_t cap = rollout::StatusRecord::kMaxDriftFindings;
    if (findings.size() > cap) {
        // The longest-standing drift is kept; ties by path so the choice is stable between checks.
        std::stable_sort(findings.begin(), findings.end(), [](const auto& a, const auto& b) {
            return a.detected != b.detected ? a.detected < b.detected : a.path < b.path;
        });
        findings.resize(cap);
    }
    std::sort(findings.begin(), findings.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
    return findings;
}

}  // namespace patchwave::agent
