// The rollout: what a release engineer writes (rollout.toml) and the signed
// manifest the fleet acts on (exact bundle ids, waves, deadlines, approvals).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/duration.hpp"
#include "common/error.hpp"
#include "common/percent.hpp"
#include "common/timestamp.hpp"
#include "crypto/envelope.hpp"
#include "crypto/trust_root.hpp"
#include "rollout/bundle_meta.hpp"
#include "rollout/ids.hpp"

namespace patchwave::rollout {

/// Certificate labels a wave selects on: every key must be present with that value.
using LabelSelector = std::map<std::string, std::string>;
using Labels = std::map<std::string, std::string>;

struct WaveSpec {
    std::string name;                      ///< unique within the rollout
    LabelSelector select;                  ///< empty selects every host
    std::optional<std::uint32_t> percent;  ///< 1-100: stable hash share of the hosts it selects
    Percent success_threshold = Percent::whole(100);  ///< installed / targeted needed to pass
    Percent failure_threshold = Percent::whole(0);    ///< failed / targeted above which the rollout pauses
    Duration soak{};                                  ///< after passing, before the next wave opens
    std::uint32_t retries = 0;                        ///< local retries of a failed step (with backoff)
    friend bool operator==(const WaveSpec&, const WaveSpec&) = default;
};

/// rollout.toml as written: bundles may be named by unique id prefixes
/// (8+ hex characters) that the orchestrator resolves before signing.
struct RolloutFile {
    std::string name;  ///< becomes the rollout id
    std::vector<std::string> bundles;
    bool emergency = false;
    std::optional<Timestamp> not_before;
    Timestamp expires{};
    Duration reboot_deadline = std::chrono::hours(48);
    std::uint32_t max_reboot_deferrals = 3;
    std::vector<WaveSpec> waves;

    /// Errors name file and line: `rollout.toml:14: wave "canary":
    /// success_threshold "120%" is not 0-100%`. Unknown keys, duplicate wave
    /// names, no waves, no bundles, bad names are errors.
    static Result<RolloutFile> parse_toml(std::string_view text, std::string_view file_name);
};

/// One bundle of a manifest, with everything an agent needs to decide whether
/// it may apply it: triage status and the approval envelopes themselves.
struct ManifestBundle {
    BundleId id{};
    crypto::Digest metadata_digest{};
    std::string name;     ///< for display only; the id is what counts
    std::string version;  ///< for display only
    TriageStatus triage = TriageStatus::proceed;
    std::vector<crypto::Envelope> approvals;
    friend bool operator==(const ManifestBundle&, const ManifestBundle&) = default;
};

/// JSON body of a "patchwave.manifest" envelope, signed by the release role.
struct Manifest {
    static constexpr std::string_view kEnvelopeType = "patchwave.manifest";
    static constexpr std::size_t kMaxBodySize = 256 * 1024;
    static constexpr std::size_t kMaxBundles = 64;
    static constexpr std::size_t kMaxWaves = 32;
    static constexpr std::size_t kMaxApprovalsPerBundle = 32;
    /// Cap on one encoded approval envelope embedded in a manifest.
    static constexpr std::size_t kMaxApprovalEnvelopeSize = 32 * 1024;

    std::string rollout_id;
    std::uint64_t version = 1;  ///< rises with every re-publication of the same rollout id
    std::vector<ManifestBundle> bundles;  ///< applied in this order, one coalesced reboot
    bool emergency = false;
    std::optional<Timestamp> not_before;
    Timestamp published{};
    Timestamp expires{};
    Duration reboot_deadline{};
    std::uint32_t max_reboot_deferrals = 0;
    std::vector<WaveSpec> waves;

    std::string to_json() const;
    static Result<Manifest> parse_json(std::string_view body);
    crypto::Envelope sign(const crypto::PrivateKey& release) const;

    friend bool operator==(const Manifest&, const Manifest&) = default;
};

/// Verifies a manifest envelope against the trust root: type, release-role
/// threshold, then parse, then not expired at `now`, and a version strictly
/// above `last_seen_version` (0 when none seen). Errc::untrusted otherwise.
/// Does not judge approvals: see bundle_cleared_for_wave.
Result<Manifest> verify_manifest(const crypto::Envelope& envelope, const crypto::TrustRoot& root, Timestamp now,
                                 std::uint64_t last_seen_version);

/// Whether `bundle` may be applied in wave `wave_index`: triage is proceed, and
/// it carries enough distinct approver signatures (the first wave, when it is
/// a test ring, needs none beyond the release signature; see docs/formats.md).
/// Wave 0 counts as the test ring only when later waves follow it; the
/// manifest's own entry for bundle.id is judged, not the caller's copy.
/// Errc::untrusted with the reason when not.
Status bundle_cleared_for_wave(const Manifest& manifest, const ManifestBundle& bundle, std::size_t wave_index,
                               const crypto::TrustRoot& root);

}  // namespace patchwave::rollout
