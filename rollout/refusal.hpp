// What an agent refused (a record that did not verify, a replay, a bundle it
// may not apply) as it reports it, and the subject names operators filter by.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "common/error.hpp"
#include "common/timestamp.hpp"
#include "rollout/ids.hpp"
#include "rollout/manifest.hpp"

namespace patchwave::rollout {

/// One refusal as a status record carries it: the same subject and reason
/// seen again only raises `count` and moves `last`.
struct Refusal {
    static constexpr std::size_t kMaxSubjectLength = 160;
    static constexpr std::size_t kMaxReasonLength = 1024;

    std::string subject;  ///< "manifest demo-2026-11 v3", "control demo-2026-11 seq 4", "bundle 1a2b3c4d5e6f of demo-2026-11"
    std::string reason;   ///< the verifier's message: what and why
    Timestamp first{};
    Timestamp last{};
    std::uint32_t count = 1;
    friend bool operator==(const Refusal&, const Refusal&) = default;
};

/// {"subject", "reason", "first", "last", "count"}: a status record's "refused" entries.
nlohmann::json refusal_to_json(const Refusal& refusal);
/// Errc::parse naming the field under `path` (e.g. "refused[2].count"):
/// subject 1-160 bytes, reason up to 1024, last not before first, count >= 1.
Result<Refusal> refusal_from_json(const nlohmann::json& value, const std::string& path);

/// Subjects, built from what the refused thing claims to be (a refused
/// record's body is not trusted, so its gossip header names it).
std::string manifest_subject(std::string_view rollout_id, std::uint64_t version);
std::string control_subject(std::string_view rollout_id, std::uint64_t sequence);
std::string bundle_subject(const BundleId& bundle, std::string_view rollout_id);

/// The rollout a subject names ("manifest R v3", "control R seq 4",
/// "bundle X of R"), or nullopt for other subjects (roots, certificates).
std::optional<std::string> subject_rollout(std::string_view subject);

/// True when the subject names the manifest's rollout, or names a bundle by
/// a hex prefix of one of the manifest's bundles (under any rollout).
bool subject_concerns(std::string_view subject, const Manifest& manifest);

}  // namespace patchwave::rollout
