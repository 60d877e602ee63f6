// What arrives from the fleet: manifests and control records, verified again
// here against the agent's own replay floors, which survive restarts. What
// fails is refused and reported (agent_refusals.cpp).
#include <spdlog/spdlog.h>

#include "agent/agent_daemon.hpp"

namespace patchwave::agent {

void AgentDaemon::on_record(const net::gossip::RecordPtr& record) {
    if (stopping_) return;
    using net::gossip::RecordType;
    const RecordType type = record->header.key.type;
    if (type != RecordType::manifest && type != RecordType::control) return;
    auto envelope = crypto::Envelope::decode(record->envelope);
    if (!envelope) {
        on_refused(record->header, envelope.error());
        return;
    }
    if (type == RecordType::manifest)
        accept_manifest(record->header, *envelope);
    else
        accept_control(record->header, *envelope);
}

void AgentDaemon::accept_manifest(const net::gossip::RecordHeader& header, const crypto::Envelope& envelope) {
    // Verified with the floor lowered by one: the record last accepted is
    // re-offered from disk at every start and must be taken again.
    auto manifest = rollout::verify_manifest(envelope, member_->root(), now(), 0);
    if (!manifest) {
        on_refused(header, manifest.error());
        return;
    }
    const std::string id = manifest->rollout_id;
    const auto& floors = journal_->state().manifest_versions;
    const auto floor = floors.contains(id) ? floors.at(id) : 0;
    if (manifest->version < floor) {
        note_refusal(rollout::manifest_subject(id, manifest->version),
                     "manifest \"" + id + "\" v" + std::to_string(manifest->version) + ": version " +
                         std::to_string(floor) + " was already accepted (replay refused)");
        return;
    }
    if (auto held = manifests_.find(id); held != manifests_.end() && held->second.version >= manifest->version) return;
    spdlog::info("manifest {} version {}: {} bundle(s), {} wave(s)", id, manifest->version, manifest->bundles.size(),
                 manifest->waves.size());
    manifests_[id] = std::move(*manifest);
    note_bundle_refusals(manifests_[id]);
    if (manifests_[id].version > floor) {
        JournalState next = journal_->state();
        next.manifest_versions[id] = manifests_[id].version;
        commit(std::move(next), "manifest");
    }
    request_reconcile();
}

void AgentDaemon::accept_control(const net::gossip::RecordHeader& header, const crypto::Envelope& envelope) {
    const std::string& rollout_id = header.key.id;
    auto control = rollout::verify_control(envelope, member_->root(), rollout_id, 0);
    if (!control) {
        on_refused(header, control.error());
        return;
    }
    const auto& floors = journal_->state().control_sequences;
    const auto floor = floors.contains(rollout_id) ? floors.at(rollout_id) : 0;
    if (control->sequence < floor) {
        note_refusal(rollout::control_subject(rollout_id, control->sequence),
                     "control record \"" + rollout_id + "\" #" + std::to_string(control->sequence) + ": sequence " +
                         std::to_string(floor) + " was already accepted (replay refused)");
        return;
    }
    if (auto held = controls_.find(rollout_id); held != controls_.end() && held->second.sequence >= control->sequence)
        return;
    spdlog::info("rollout {}: {} by {} (sequence {}, open wave {}){}", rollout_id, rollout::to_string(control->action),
                 control->operator_name, control->sequence, control->open_wave + 1,
                 control->reason.empty() ? "" : ": " + control->reason);
    controls_[rollout_id] = std::move(*control);
    if (controls_[rollout_id].sequence > floor) {
        JournalState next = journal_->state();
        next.control_sequences[rollout_id] = controls_[rollout_id].sequence;
        commit(std::move(next), "control");
    }
    request_reconcile();
}

const rollout::ControlRecord* AgentDaemon::control_of(const std::string& rollout_id) const {
    auto it = controls_.find(rollout_id);
    return it == controls_.end() ? nullptr : &it->second;
}

}  // namespace patchwave::agent
