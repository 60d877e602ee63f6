// From rollout.toml to a signed manifest: resolving bundle ids, previewing
// waves over the known hosts, and the triage and approval checks of publish.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/timestamp.hpp"
#include "orchestrator/catalog.hpp"
#include "orchestrator/home.hpp"
#include "rollout/manifest.hpp"

namespace patchwave::orchestrator {

struct WavePreview {
    std::string name;
    std::vector<std::string> hosts;  ///< host names, sorted
};

struct BundleClearance {
    BundleRecord bundle;
    /// Per wave: empty when the bundle may run there, else why not.
    std::vector<std::string> refusals;
};

struct RolloutPlan {
    rollout::RolloutFile file;
    std::vector<BundleClearance> bundles;  ///< manifest order
    std::vector<WavePreview> waves;
    std::vector<std::string> unassigned;  ///< known hosts no wave selects
    std::uint64_t next_version = 1;       ///< what publish would assign
    rollout::Manifest manifest;           ///< what publish would sign (unsigned here)
};

/// Parses `text` (errors name `file_name` and the line), resolves every bundle
/// (full ids or unique 8+ hex prefixes), builds the manifest publish would
/// sign and previews the waves over the known hosts. Publishes nothing.
Result<RolloutPlan> plan_rollout(Home& home, std::string_view text, std::string_view file_name, Timestamp now);

struct PublishResult {
    rollout::Manifest manifest;
    crypto::Envelope envelope;
};

/// Plans, then refuses (Errc::untrusted, exit 3, naming the bundle) when any
/// bundle is held or cancelled or lacks the approvals some wave needs; refuses
/// (Errc::state) a rollout id that was aborted and an expiry in the past.
/// Otherwise signs with the release key, checks the envelope as an agent
/// would, and stores it as the next version.
Result<PublishResult> publish_rollout(Home& home, std::string_view text, std::string_view file_name, Timestamp now);

}  // namespace patchwave::orchestrator
