// Builders for the rules tests: timestamps, ids, manifests, waves and host
// views constructed directly (no document parsing involved).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/duration.hpp"
#include "common/percent.hpp"
#include "common/timestamp.hpp"
#include "rollout/host_view.hpp"
#include "rollout/manifest.hpp"
#include "rollout/status_record.hpp"

namespace patchwave::rollout::test {

/// A time from RFC 3339 text; usable in static initializers (no Catch macros),
/// it throws on a typo in a test.
inline Timestamp at(std::string_view text) {
    return parse_timestamp(text).value();
}

/// A distinct agent id per number (the number's bytes, then a marker).
inline AgentId agent_id(std::uint64_t n) {
    AgentId id{};
    for (std::size_t i = 0; i < 8; ++i)
        id[i] = static_cast<std::uint8_t>(n >> (8 * i));
    id[31] = 0xa5;
    return id;
}

inline BundleId bundle_id(std::uint8_t n) {
    BundleId id{};
    id.fill(n);
    return id;
}

inline WaveSpec wave(std::string name, LabelSelector select,
                     std::optional<std::uint32_t> percent = std::nullopt,
                     std::uint32_t success_percent = 100, std::uint32_t failure_percent = 0,
                     Duration soak = Duration::zero()) {
    WaveSpec spec;
    spec.name = std::move(name);
    spec.select = std::move(select);
    spec.percent = percent;
    spec.success_threshold = Percent::whole(success_percent);
    spec.failure_threshold = Percent::whole(failure_percent);
    spec.soak = soak;
    return spec;
}

/// A manifest "2026-11-B" with `bundle_count` bundles (ids 1, 2, ...),
/// published 2026-11-24T00:00:00Z, 48h reboot deadline, 3 deferrals.
inline Manifest manifest_with(std::vector<WaveSpec> waves, std::size_t bundle_count = 1) {
    Manifest manifest;
    manifest.rollout_id = "2026-11-B";
    manifest.published = at("2026-11-24T00:00:00Z");
    manifest.expires = at("2026-12-24T00:00:00Z");
    manifest.reboot_deadline = std::chrono::hours(48);
    manifest.max_reboot_deferrals = 3;
    for (std::size_t i = 0; i < bundle_count; ++i) {
        ManifestBundle bundle;
        bundle.id = bundle_id(static_cast<std::uint8_t>(i + 1));
        bundle.name = "bundle-" + std::to_string(i + 1);
        manifest.bundles.push_back(bundle);
    }
    manifest.waves = std::move(waves);
    return manifest;
}

inline BundleStatus bundle_status(BundleId id, HostState state, Timestamp since) {
    BundleStatus status;
    status.bundle = id;
    status.state = state;
    status.since = since;
    return status;
}

/// A host heard from at `heard` whose status reports `bundles` for the
/// manifest's rollout (no status at all when `bundles` is empty and
/// `with_status` is false).
inline HostView host_view(std::string name, AgentId agent, Labels labels,
                          std::vector<BundleStatus> bundles, std::optional<Timestamp> heard,
                          bool with_status = true) {
    HostView view;
    view.host = std::move(name);
    view.agent = agent;
    view.labels = std::move(labels);
    view.last_heard = heard;
    if (with_status) {
        StatusRecord record;
        record.agent = agent;
        record.time = heard.value_or(Timestamp{});
        RolloutStatus rollout;
        rollout.rollout_id = "2026-11-B";
        rollout.manifest_version = 1;
        rollout.bundles = std::move(bundles);
        record.rollouts.push_back(std::move(rollout));
        view.status = std::move(record);
    }
    return view;
}

}  // namespace patchwave::rollout::test
