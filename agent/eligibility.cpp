#include "agent/eligibility.hpp"

#include <algorithm>

#include "rollout/wave_assignment.hpp"

namespace patchwave::agent {
namespace {

void earliest(std::optional<Timestamp>& current, std::optional<Timestamp> candidate) {
    if (candidate && (!current || *candidate < *current)) current = candidate;
}

std::string wave_label(const rollout::Manifest& manifest, std::size_t index) {
    return "wave " + std::to_string(index + 1) + " (\"" + manifest.waves[index].name + "\")";
}

}  // namespace

Eligibility evaluate_eligibility(const rollout::Manifest& manifest, const rollout::ControlRecord* control,
                                 const crypto::TrustRoot& root, const HostFacts& host, Timestamp now) {
    Eligibility out;
    if (control != nullptr && control->rollout_id != manifest.rollout_id) control = nullptr;
    out.wave = rollout::assign_wave(manifest, host.agent, host.labels);
    if (!out.wave) {
        out.reason = "this host is in none of the rollout's waves";
        return out;
    }
    const std::size_t wave = *out.wave;
    out.refusals.reserve(manifest.bundles.size());
    for (const auto& bundle : manifest.bundles) {
        auto cleared = rollout::bundle_cleared_for_wave(manifest, bundle, wave, root);
        out.refusals.push_back(cleared ? std::string() : cleared.error().message());
    }

    if (control != nullptr && control->aborted()) {
        out.aborted = true;
        out.reason = "aborted by " + control->operator_name + (control->reason.empty() ? "" : ": " + control->reason);
        return out;
    }
    if (now >= manifest.expires) {
        out.reason = "the manifest expired at " + format_timestamp(manifest.expires);
        return out;
    }
    out.recheck_at = manifest.expires;
    if (control != nullptr && control->paused()) {
        out.reason = "paused by " + control->operator_name + (control->reason.empty() ? "" : ": " + control->reason);
        return out;
    }
    if (manifest.not_before && now < *manifest.not_before) {
        out.reason = "not before " + format_timestamp(*manifest.not_before);
        earliest(out.recheck_at, manifest.not_before);
        return out;
    }
    const std::size_t last = manifest.waves.empty() ? 0 : manifest.waves.size() - 1;
    const std::size_t open = control != nullptr ? std::min<std::size_t>(control->open_wave, last) : 0;
    if (wave > open) {
        out.reason = wave_label(manifest, wave) + " is not open yet (open: up to " + wave_label(manifest, open) + ")";
        return out;
    }
    out.may_download = true;
    if (!rollout::is_inside(host.maintenance, host.offset, now)) {
        auto opens = rollout::next_opening(host.maintenance, host.offset, now);
        out.reason = "outside the maintenance window" +
                     (opens ? " until " + format_timestamp(*opens) : std::string(" (it never opens)"));
        earliest(out.recheck_at, opens);
        return out;
    }
    out.may_install = true;
    earliest(out.recheck_at, rollout::current_closing(host.maintenance, host.offset, now));
    return out;
}

}  // namespace patchwave::agent
