// The bundle catalog: bundles created from directories (content, torrent and
// metadata stored under the home), their triage, and approvers' signatures.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/timestamp.hpp"
#include "crypto/envelope.hpp"
#include "crypto/keys.hpp"
#include "crypto/trust_root.hpp"
#include "orchestrator/home.hpp"
#include "rollout/bundle_meta.hpp"
#include "rollout/ids.hpp"

namespace patchwave::orchestrator {

struct ApprovalRecord {
    crypto::PublicKey approver;
    std::string change_ref;
    std::string note;
    Timestamp approved_at{};
    crypto::Envelope envelope;  ///< the signed patchwave.approval, as the manifest embeds it
};

struct BundleRecord {
    rollout::BundleId id{};
    rollout::BundleMeta meta;  ///< as parsed from bundle.toml; meta.priority is the catalog's (triage may change it)
    std::string bundle_toml;   ///< the exact bytes; their SHA-256 is the metadata digest approvals sign
    crypto::Digest metadata_digest{};
    rollout::TriageStatus triage = rollout::TriageStatus::proceed;
    std::uint64_t total_bytes = 0;
    std::uint32_t file_count = 0;
    Timestamp created{};
    std::vector<ApprovalRecord> approvals;  ///< oldest first
};

struct CreateResult {
    BundleRecord bundle;
    bool already_present = false;  ///< the same content was in the catalog already
};

/// Called while creating: bytes read so far and the total. Every payload byte
/// is read twice, once to copy it into the home and once to hash the copy, so
/// `total` is twice the bundle's size and the first half is the copy.
using HashProgress = std::function<void(std::uint64_t done, std::uint64_t total)>;

/// Validates DIR/bundle.toml, copies DIR into the home and builds the v2-only
/// torrent over the copy (so what is stored is exactly what was hashed),
/// then stores it under bundles/<id>/ and in the database. Refuses symlinks
/// that leave DIR or are absolute, special files, and a bundle.toml that does
/// not parse (Errc::parse naming file and line). The same content gives the
/// same id; creating it again changes nothing and says so. Crash-safe: work
/// happens under tmp/ and becomes visible by one rename plus one transaction.
Result<CreateResult> create_bundle(Home& home, const std::filesystem::path& directory, Timestamp now,
                                   const HashProgress& progress = {}, const std::atomic<bool>* cancel = nullptr);

/// A full id, or a unique prefix of 8 or more hex characters. Errc::not_found
/// when nothing matches, Errc::invalid_argument when the prefix is ambiguous
/// (naming the candidates) or too short.
Result<rollout::BundleId> resolve_bundle(Database& db, std::string_view id_or_prefix);

Result<BundleRecord> get_bundle(Database& db, const rollout::BundleId& id);
/// Newest first.
Result<std::vector<BundleRecord>> list_bundles(Database& db);

/// Sets the triage status and, if given, the priority.
Status set_triage(Database& db, const rollout::BundleId& id, rollout::TriageStatus status,
                  std::optional<rollout::Priority> priority);

/// Signs an approval with `approver` and stores it. The key must be one of
/// `root`'s approver keys (Errc::untrusted otherwise, exit 3); a second
/// approval by the same key replaces the first. change_ref is required.
Result<ApprovalRecord> approve_bundle(Database& db, const rollout::BundleId& id, const crypto::PrivateKey& approver,
                                      std::string change_ref, std::string note, const crypto::TrustRoot& root,
                                      Timestamp now);

/// Where a stored bundle's files and torrent live.
std::filesystem::path bundle_content_dir(const Home& home, const rollout::BundleId& id);
std::filesystem::path bundle_torrent_file(const Home& home, const rollout::BundleId& id);

}  // namespace patchwave::orchestrator
