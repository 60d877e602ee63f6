#include "rollout/host_view.hpp"

#include <algorithm>

namespace patchwave::rollout {

bool is_silent(const HostView& host, Timestamp now, Duration timeout) {
    if (!host.last_heard)
        return true;
    return now - *host.last_heard > timeout;
}

const RolloutStatus* find_rollout(const StatusRecord& status, std::string_view rollout_id) {
    for (const RolloutStatus& rollout : status.rollouts) {
        if (rollout.rollout_id == rollout_id)
            return &rollout;
    }
    return nullptr;
}

const BundleStatus* find_bundle(const RolloutStatus& status, const BundleId& bundle) {
    for (const BundleStatus& entry : status.bundles) {
        if (entry.bundle == bundle)
            return &entry;
    }
    return nullptr;
}

HostRolloutState aggregate_state(const Manifest& manifest, const RolloutStatus* status) {
    std::vector<const BundleStatus*> entries;
    entries.reserve(manifest.bundles.size());
    for (const ManifestBundle& bundle : manifest.bundles) {
        entries.push_back(status ? find_bundle(*status, bundle.id) : nullptr);
    }
    const auto state_of = [](const BundleStatus* entry) {
        return entry ? entry->state : HostState::waiting;
    };
    const auto latest_since = [&](auto&& keep) {
        std::optional<Timestamp> latest;
        for (const BundleStatus* entry : entries) {
            if (entry && keep(entry->state))
                latest = latest ? std::max(*latest, entry->since) : entry->since;
        }
        return latest;
    };

    if (std::any_of(entries.begin(), entries.end(),
                    [&](const BundleStatus* e) { return state_of(e) == HostState::failed; })) {
        return {HostState::failed,
                latest_since([](HostState s) { return s == HostState::failed; })};
    }
    if (std::all_of(entries.begin(), entries.end(),
                    [&](const BundleStatus* e) { return state_of(e) == HostState::installed; })) {
        return {HostState::installed, latest_since([](HostState) { return true; })};
    }
    if (std::all_of(entries.begin(), entries.end(), [&](const BundleStatus* e) {
            return state_of(e) == HostState::installed || state_of(e) == HostState::reboot_pending;
        })) {
        return {HostState::reboot_pending, latest_since([](HostState) { return true; })};
    }
    for (const BundleStatus* entry : entries) {
        if (state_of(entry) == HostState::installed)
            continue;
        if (!entry)
            return {HostState::waiting, std::nullopt};
        return {entry->state, entry->since};
    }
    return {HostState::waiting, std::nullopt};  // unreachable: the all-installed case returned
}

HostRolloutState aggregate_state(const Manifest& manifest, const HostView& host) {
    const RolloutStatus* rollout =
        host.status ? find_rollout(*host.status, manifest.rollout_id) : nullptr;
    return aggregate_state(manifest, rollout);
}

}  // namespace patchwave::rollout
