#include "rollout/audit.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "rollout/wave_assignment.hpp"

namespace patchwave::rollout {
namespace {

struct Targeted {
    const HostView* host;
    std::size_t wave;
};

bool host_order(const Targeted& a, const Targeted& b) {
    return std::tie(a.host->host, a.host->agent) < std::tie(b.host->host, b.host->agent);
}

void append_drift(const HostView& host, std::vector<DriftEntry>& out) {
    if (!host.status)
        return;
    for (const DriftFinding& finding : host.status->drift)
        out.push_back({host.host, host.agent, finding});
}

void sort_drift(std::vector<DriftEntry>& entries) {
    std::stable_sort(entries.begin(), entries.end(), [](const DriftEntry& a, const DriftEntry& b) {
        return std::tie(a.host, a.agent, a.finding.path)
               < std::tie(b.host, b.agent, b.finding.path);
    });
}

RebootPendingHost reboot_pending_entry(const Manifest& manifest, const HostView& host,
                                       AuditHost who, Timestamp now) {
    RebootPendingHost entry{std::move(who), {}, {}, {}, false};
    std::optional<Timestamp> since = host.status ? host.status->reboot.pending_since : std::nullopt;
    if (!since && host.status) {
        // The host did not say; its earliest reboot-pending bundle did.
        if (const RolloutStatus* rollout = find_rollout(*host.status, manifest.rollout_id)) {
            for (const BundleStatus& bundle : rollout->bundles) {
                if (bundle.state != HostState::reboot_pending)
                    continue;
                if (!since || bundle.since < *since)
                    since = bundle.since;
            }
        }
    }
    entry.pending_since = since.value_or(now);
    // A host clock ahead of ours must not produce a negative age.
    entry.age = std::max(Duration::zero(), now - entry.pending_since);
    const std::optional<Timestamp> reported =
        host.status ? host.status->reboot.deadline : std::nullopt;
    entry.deadline = reported.value_or(entry.pending_since + manifest.reboot_deadline);
    entry.past_deadline = now > entry.deadline;
    return entry;
}

std::vector<FailedBundle> failed_bundles(const Manifest& manifest, const HostView& host) {
    std::vector<FailedBundle> out;
    const RolloutStatus* rollout =
        host.status ? find_rollout(*host.status, manifest.rollout_id) : nullptr;
    if (!rollout)
        return out;
    for (const ManifestBundle& bundle : manifest.bundles) {
        const BundleStatus* status = find_bundle(*rollout, bundle.id);
        if (!status || status->state != HostState::failed)
            continue;
        out.push_back({bundle.id, status->failed_step, status->failure_reason, status->rolled_back,
                       status->since});
    }
    return out;
}

}  // namespace

std::vector<RefusedEntry> collect_refusals(std::span<const HostView> hosts, const Manifest* concerning) {
    std::vector<RefusedEntry> out;
    for (const HostView& host : hosts) {
        if (!host.status)
            continue;
        for (const Refusal& refusal : host.status->refused) {
            if (concerning == nullptr || subject_concerns(refusal.subject, *concerning))
                out.push_back({host.host, host.agent, refusal});
        }
    }
    std::stable_sort(out.begin(), out.end(), [](const RefusedEntry& a, const RefusedEntry& b) {
        return std::tie(a.host, a.agent, a.refusal.subject) < std::tie(b.host, b.agent, b.refusal.subject);
    });
    return out;
}

std::vector<DriftEntry> collect_drift(std::span<const HostView> hosts) {
    std::vector<DriftEntry> out;
    for (const HostView& host : hosts)
        append_drift(host, out);
    sort_drift(out);
    return out;
}

std::vector<MirrorGap> mirror_check(std::span<const HostView> hosts,
                                    const LabelSelector& test_ring) {
    struct Seen {
        bool in_test_ring = false;
        std::set<std::string> outside;
    };
    std::map<BundleId, Seen> seen;
    for (const HostView& host : hosts) {
        if (!host.status)
            continue;
        const bool test = selector_matches(test_ring, host.labels);
        for (const RolloutStatus& rollout : host.status->rollouts) {
            for (const BundleStatus& bundle : rollout.bundles) {
                if (bundle.state != HostState::installed)
                    continue;
                Seen& entry = seen[bundle.bundle];
                if (test) {
                    entry.in_test_ring = true;
                } else {
                    entry.outside.insert(host.host);
                }
            }
        }
    }
    std::vector<MirrorGap> gaps;
    for (const auto& [bundle, entry] : seen) {
        if (entry.in_test_ring || entry.outside.empty())
            continue;
        gaps.push_back(
            {bundle, std::vector<std::string>(entry.outside.begin(), entry.outside.end())});
    }
    return gaps;
}

AuditReport audit_rollout(const Manifest& manifest, std::span<const HostView> hosts, Timestamp now,
                          const AuditOptions& options) {
    AuditReport report;
    report.rollout_id = manifest.rollout_id;

    std::vector<Targeted> targeted;
    for (const HostView& host : hosts) {
        if (const auto wave = assign_wave(manifest, host.agent, host.labels))
            targeted.push_back({&host, *wave});
    }
    std::sort(targeted.begin(), targeted.end(), host_order);
    report.targeted = targeted.size();

    for (const auto& [host, wave] : targeted) {
        AuditHost who{host->host, host->agent, manifest.waves[wave].name};
        append_drift(*host, report.drift);
        const HostRolloutState state = aggregate_state(manifest, *host);
        if (is_silent(*host, now, options.silence_timeout)) {
            std::optional<Duration> silent_for;
            if (host->last_heard)
                silent_for = now - *host->last_heard;
            report.silent.push_back({std::move(who), host->last_heard, silent_for, state.state});
            continue;
        }
        switch (state.state) {
            case HostState::installed:
                ++report.installed;
                break;
            case HostState::failed:
                report.failed.push_back({std::move(who), failed_bundles(manifest, *host)});
                break;
            case HostState::reboot_pending:
                report.reboot_pending.push_back(
                    reboot_pending_entry(manifest, *host, std::move(who), now));
                break;
            case HostState::waiting:
                report.waiting.push_back(std::move(who));
                break;
            case HostState::downloading:
            case HostState::ready:
            case HostState::installing:
            case HostState::verifying:
                report.in_progress.push_back({std::move(who), state.state, state.since});
                break;
        }
    }

    sort_drift(report.drift);

    for (MirrorGap& gap : mirror_check(hosts, options.test_ring)) {
        const bool ours =
            std::any_of(manifest.bundles.begin(), manifest.bundles.end(),
                        [&](const ManifestBundle& bundle) { return bundle.id == gap.bundle; });
        if (ours)
            report.mirror_gaps.push_back(std::move(gap));
    }
    report.refused = collect_refusals(hosts, options.all_refusals ? nullptr : &manifest);
    return report;
}

}  // namespace patchwave::rollout
