#include "orchestrator/rollout_publisher.hpp"

#include <algorithm>

#include "orchestrator/host_registry.hpp"
#include "orchestrator/key_store.hpp"
#include "orchestrator/rollout_store.hpp"
#include "orchestrator/trust_store.hpp"
#include "rollout/wave_assignment.hpp"

namespace patchwave::orchestrator {
namespace {

rollout::ManifestBundle manifest_entry(const BundleRecord& record) {
    rollout::ManifestBundle entry;
    entry.id = record.id;
    entry.metadata_digest = record.metadata_digest;
    entry.name = record.meta.name;
    entry.version = record.meta.version;
    entry.triage = record.triage;
    for (const auto& approval : record.approvals) entry.approvals.push_back(approval.envelope);
    return entry;
}

}  // namespace

Result<RolloutPlan> plan_rollout(Home& home, std::string_view text, std::string_view file_name, Timestamp now) {
    auto file = rollout::RolloutFile::parse_toml(text, file_name);
    if (!file) return std::unexpected(file.error());
    RolloutPlan plan;
    plan.file = std::move(*file);
    auto root = latest_root(home.db());
    if (!root) return std::unexpected(root.error());
    auto previous = latest_manifest(home.db(), plan.file.name);
    if (!previous) return std::unexpected(previous.error());
    plan.next_version = *previous ? (*previous)->manifest.version + 1 : 1;

    rollout::Manifest& manifest = plan.manifest;
    manifest.rollout_id = plan.file.name;
    manifest.version = plan.next_version;
    manifest.emergency = plan.file.emergency;
    manifest.not_before = plan.file.not_before;
    manifest.published = now;
    manifest.expires = plan.file.expires;
    manifest.reboot_deadline = plan.file.reboot_deadline;
    manifest.max_reboot_deferrals = plan.file.max_reboot_deferrals;
    manifest.waves = plan.file.waves;
    for (const auto& reference : plan.file.bundles) {
        auto id = resolve_bundle(home.db(), reference);
        if (!id) return std::unexpected(id.error().with_context(std::string(file_name)));
        if (std::any_of(manifest.bundles.begin(), manifest.bundles.end(),
                        [&](const rollout::ManifestBundle& b) { return b.id == *id; })) {
            return fail(Errc::invalid_argument, std::string(file_name) + ": bundle \"" + reference +
                                                    "\" is listed twice");
        }
        auto record = get_bundle(home.db(), *id);
        if (!record) return std::unexpected(record.error());
        manifest.bundles.push_back(manifest_entry(*record));
        plan.bundles.push_back({std::move(*record), {}});
    }
    for (std::size_t i = 0; i < plan.bundles.size(); ++i) {
        for (std::size_t wave = 0; wave < manifest.waves.size(); ++wave) {
            auto cleared = rollout::bundle_cleared_for_wave(manifest, manifest.bundles[i], wave, root->root);
            plan.bundles[i].refusals.push_back(cleared ? std::string() : cleared.error().message());
        }
    }

    auto hosts = known_hosts(home.db());
    if (!hosts) return std::unexpected(hosts.error());
    for (const auto& wave : manifest.waves) plan.waves.push_back({wave.name, {}});
    for (const auto& host : *hosts) {
        const auto wave = rollout::assign_wave(manifest, host.certificate.agent_id(), host.certificate.labels);
        if (wave) {
            plan.waves[*wave].hosts.push_back(host.certificate.host);
        } else {
            plan.unassigned.push_back(host.certificate.host);
        }
    }
    return plan;
}

Result<PublishResult> publish_rollout(Home& home, std::string_view text, std::string_view file_name, Timestamp now) {
    auto plan = plan_rollout(home, text, file_name, now);
    if (!plan) return std::unexpected(plan.error());
    const std::string name = "rollout \"" + plan->manifest.rollout_id + "\"";
    if (plan->manifest.expires <= now) {
        return fail(Errc::invalid_argument, std::string(file_name) + ": expires " +
                                                format_timestamp(plan->manifest.expires) + " is in the past");
    }
    auto control = latest_control(home.db(), plan->manifest.rollout_id);
    if (!control) return std::unexpected(control.error());
    if (*control && (*control)->record.aborted()) {
        return fail(Errc::state, name + " was aborted; abort is final, publish under a new name");
    }
    // Every refusal, first bundle first, first wave first: the operator fixes them in order.
    for (const auto& clearance : plan->bundles) {
        for (const auto& refusal : clearance.refusals) {
            if (!refusal.empty()) return fail(Errc::untrusted, "cannot publish " + name + ": " + refusal);
        }
    }
    auto root = latest_root(home.db());
    if (!root) return std::unexpected(root.error());
    auto signer = signing_keys(home.keys_dir(), root->root, crypto::Role::release);
    if (!signer) return std::unexpected(signer.error());
    crypto::Envelope envelope = plan->manifest.sign(signer->front());
    for (std::size_t i = 1; i < signer->size(); ++i) envelope.sign((*signer)[i]);
    // Exactly what an agent checks; a manifest agents would refuse is not published.
    const std::uint64_t previous = plan->manifest.version - 1;
    auto verified = rollout::verify_manifest(envelope, root->root, now, previous);
    if (!verified) return std::unexpected(verified.error().with_context("internal check of the signed manifest"));

    auto transaction = Transaction::begin(home.db());
    if (!transaction) return std::unexpected(transaction.error());
    if (auto ok = store_manifest(home.db(), plan->manifest, envelope); !ok) return std::unexpected(ok.error());
    if (auto ok = transaction->commit(); !ok) return std::unexpected(ok.error());
    return PublishResult{std::move(plan->manifest), std::move(envelope)};
}

}  // namespace patchwave::orchestrator
