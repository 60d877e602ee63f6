// A bundle's metadata as its author writes it in bundle.toml: what it is, how
// urgent, what it changes, and the commands that install, verify and undo it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/duration.hpp"
#include "common/error.hpp"
#include "crypto/sha256.hpp"

namespace patchwave::rollout {

enum class Priority { critical, high, normal, low };
enum class Category { security, bugfix, feature, config };
enum class TriageStatus { proceed, hold, cancelled };
enum class RebootNeed { none, required };

std::string_view to_string(Priority value);
std::string_view to_string(Category value);
std::string_view to_string(TriageStatus value);
std::string_view to_string(RebootNeed value);
Result<Priority> priority_from_string(std::string_view text);
Result<Category> category_from_string(std::string_view text);
Result<TriageStatus> triage_status_from_string(std::string_view text);
Result<RebootNeed> reboot_need_from_string(std::string_view text);

struct BundleCommand {
    std::string command;  ///< run by /bin/sh -c in the bundle directory
    Duration timeout{};
    friend bool operator==(const BundleCommand&, const BundleCommand&) = default;
};

struct BundleMeta {
    /// Limits parse_toml enforces (see docs/formats.md).
    static constexpr std::size_t kMaxNameLength = 128;
    static constexpr std::size_t kMaxVersionLength = 64;
    static constexpr std::size_t kMaxDescriptionLength = 4096;
    static constexpr std::size_t kMaxPaths = 256;
    static constexpr std::size_t kMaxPathLength = 4096;
    static constexpr std::size_t kMaxCommandLength = 4096;

    std::string name;
    std::string version;
    Priority priority = Priority::normal;
    Category category = Category::bugfix;
    std::string description;
    RebootNeed reboot = RebootNeed::none;
    std::vector<std::string> paths;  ///< absolute paths it changes; drift is judged against these
    BundleCommand install;
    std::optional<BundleCommand> verify;
    std::optional<BundleCommand> rollback;
    std::optional<BundleCommand> precheck;

    /// Parses bundle.toml. `file_name` prefixes every error with the line:
    /// `bundle.toml:7: priority "urgent" is not critical, high, normal or low`.
    /// Unknown keys are errors.
    static Result<BundleMeta> parse_toml(std::string_view text, std::string_view file_name);

    friend bool operator==(const BundleMeta&, const BundleMeta&) = default;
};

/// The metadata digest approvals sign: SHA-256 of the exact bundle.toml bytes.
/// (bundle.toml is part of the payload, so the bundle id covers it as well.)
crypto::Digest metadata_digest(std::string_view bundle_toml_bytes);

}  // namespace patchwave::rollout
