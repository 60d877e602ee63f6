// Trusting a manifest: verify_manifest (signatures before parsing, then expiry
// and rollback) and bundle_cleared_for_wave (triage and approvals per wave).
#include <algorithm>

#include "rollout/approval.hpp"
#include "rollout/document_json.hpp"
#include "rollout/manifest.hpp"

namespace patchwave::rollout {

Result<Manifest> verify_manifest(const crypto::Envelope& envelope, const crypto::TrustRoot& root, Timestamp now,
                                 std::uint64_t last_seen_version) {
    constexpr std::string_view kDocument = "manifest";
    // An expired root no longer vouches for its keys, whatever they signed.
    if (root.expired_at(now)) {
        return detail::refuse(kDocument, "trust root v" + std::to_string(root.version) + " expired at " +
                                             format_timestamp(root.expires) + "; update the trust root first");
    }
    auto signed_ok = detail::verify_role_envelope(envelope, Manifest::kEnvelopeType, Manifest::kMaxBodySize, root,
                                                  crypto::Role::release, kDocument);
    if (!signed_ok) return std::unexpected(std::move(signed_ok.error()));
    // Only now, with the release role's signatures checked, is the body parsed.
    auto manifest = Manifest::parse_json(envelope.body);
    if (!manifest) return detail::refuse(kDocument, kDocument, manifest.error());

    const std::string name = "manifest \"" + manifest->rollout_id + "\" v" + std::to_string(manifest->version);
    if (now >= manifest->expires) return detail::refuse(name, "expired at " + format_timestamp(manifest->expires));
    if (manifest->version <= last_seen_version) {
        return detail::refuse(name, "version is not above the v" + std::to_string(last_seen_version) +
                                        " already seen (rollback refused)");
    }
    return manifest;
}

Status bundle_cleared_for_wave(const Manifest& manifest, const ManifestBundle& bundle, std::size_t wave_index,
                               const crypto::TrustRoot& root) {
    const std::string name = "bundle \"" + bundle.name + "\" " + bundle.version + " (" + short_hex(bundle.id) + ")";
    // Judge what the release role signed, not a copy the caller may have edited.
    const auto entry = std::find_if(manifest.bundles.begin(), manifest.bundles.end(),
                                    [&](const ManifestBundle& candidate) { return candidate.id == bundle.id; });
    if (entry == manifest.bundles.end()) {
        return detail::refuse(name, "is not part of manifest \"" + manifest.rollout_id + "\" v" +
                                        std::to_string(manifest.version));
    }
    if (wave_index >= manifest.waves.size()) {
        return fail(Errc::invalid_argument, name + ": manifest \"" + manifest.rollout_id + "\" has no wave #" +
                                                std::to_string(wave_index + 1));
    }
    if (entry->triage != TriageStatus::proceed) {
        return detail::refuse(name, "triage status is \"" + std::string(to_string(entry->triage)) +
                                        "\": it is not offered to hosts");
    }
    // The test ring (wave 0 of a rollout with later waves) may run on the
    // release signature alone; a single-wave rollout has no test ring, so its
    // only wave needs the full approval like every later wave.
    if (wave_index == 0 && manifest.waves.size() > 1) return {};

    const std::size_t required = approvals_required(root, manifest.emergency);
    const std::size_t have = count_approvals(entry->approvals, root, entry->id, entry->metadata_digest).size();
    if (have < required) {
        return detail::refuse(name, std::to_string(have) + " of " + std::to_string(required) + " required " +
                                        (manifest.emergency ? "emergency " : "") + "approvals for wave \"" +
                                        manifest.waves[wave_index].name + "\"");
    }
    return {};
}

}  // namespace patchwave::rollout
