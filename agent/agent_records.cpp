// What arrives from the fleet: manifests and control records, verified again
// here against the agent's own replay floors, which survive restarts. What
// fails is refused and reported (agent_refusals.cpp).
#include <spdlog/spdlog.h>

#include "agent/agent_daemon.hpp"
#include "agent/replay_floors.hpp"

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
    const crypto::TrustRoot& root = member_->root();
    auto manifest = rollout::verify_manifest(envelope, root, now(), 0);
    if (!manifest) {
        on_refused(header, manifest.error());
        return;
    }
    const std::string id = manifest->rollout_id;
    const JournalState& state = journal_->state();
    const auto floor = replay_floor(state.manifest_key_floors, state.manifest_versions, id,
                                    root.role(crypto::Role::release).keys);
    if (manifest->version < floor) {
        note_refusal(rollout::manifest_subject(id, manifest->version),
                     "manifest \"" + id + "\" v" + std::to_string(manifest->version) + ": version " +
                         std::to_string(floor) + " was already accepted (replay refused)");
        return;
    }
    if (auto held = manifests_.find(id); held != manifests_.end() && held->second.version >= manifest->version) return;
    spdlog::info("manifest {} version {}: {} bundle(s), {} wave(s)", id, manifest->version, manifest->bundles.size(),
                 manifest->waves.size());
    const std::uint64_t version = manifest->version;
    manifests_[id] = std::move(*manifest);
    manifest_envelopes_[id] = envelope;
    note_bundle_refusals(manifests_[id]);
    JournalState next = journal_->state();
    const bool raised = raise_floors(next.manifest_key_floors, id, valid_signers(envelope, root, crypto::Role::release),
                                     version);
    if (raised || next.manifest_versions[id] != version) {
        next.manifest_versions[id] = version;
        commit(std::move(next), "manifest");
    }
    request_reconcile();
}

void AgentDaemon::accept_control(const net::gossip::RecordHeader& header, const crypto::Envelope& envelope) {
    const std::string& rollout_id = header.key.id;
    const crypto::TrustRoot& root = member_->root();
    auto control = rollout::verify_control(envelope, root, rollout_id, 0);
    if (!control) {
        on_refused(header, control.error());
        return;
    }
    const JournalState& state = journal_->state();
    const auto floor = replay_floor(state.control_key_floors, state.control_sequences, rollout_id,
                                    root.role(crypto::Role::operator_).keys);
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
    const std::uint64_t sequence = control->sequence;
    controls_[rollout_id] = std::move(*control);
    control_envelopes_[rollout_id] = envelope;
    JournalState next = journal_->state();
    const bool raised = raise_floors(next.control_key_floors, rollout_id,
                                     valid_signers(envelope, root, crypto::Role::operator_), sequence);
    if (raised || next.control_sequences[rollout_id] != sequence) {
        next.control_sequences[rollout_id] = sequence;
        commit(std::move(next), "control");
    }
    request_reconcile();
}

// A new root may revoke the release or operator key that signed what is held
// (the recovery from a compromised key): such records are let go, so the
// versions the remaining keys sign are taken even when they are lower (their
// floors no longer count either, see replay_floors.hpp).
void AgentDaemon::on_root_adopted(const crypto::TrustRoot& root) {
    bool dropped = false;
    for (auto it = manifest_envelopes_.begin(); it != manifest_envelopes_.end();) {
        if (still_signed(it->second, root, crypto::Role::release)) {
            ++it;
            continue;
        }
        const std::uint64_t version = manifests_.contains(it->first) ? manifests_.at(it->first).version : 0;
        note_refusal(rollout::manifest_subject(it->first, version),
                     "manifest \"" + it->first + "\" v" + std::to_string(version) +
                         ": no longer signed by the release keys of trust root v" + std::to_string(root.version) +
                         " (revoked); waiting for a manifest they sign");
        manifests_.erase(it->first);
        it = manifest_envelopes_.erase(it);
        dropped = true;
    }
    for (auto it = control_envelopes_.begin(); it != control_envelopes_.end();) {
        if (still_signed(it->second, root, crypto::Role::operator_)) {
            ++it;
            continue;
        }
        const std::uint64_t sequence = controls_.contains(it->first) ? controls_.at(it->first).sequence : 0;
        note_refusal(rollout::control_subject(it->first, sequence),
                     "control record \"" + it->first + "\" #" + std::to_string(sequence) +
                         ": no longer signed by the operator keys of trust root v" + std::to_string(root.version) +
                         " (revoked)");
        controls_.erase(it->first);
        it = control_envelopes_.erase(it);
        dropped = true;
    }
    if (dropped) request_reconcile();
}

const rollout::ControlRecord* AgentDaemon::control_of(const std::string& rollout_id) const {
    auto it = controls_.find(rollout_id);
    return it == controls_.end() ? nullptr : &it->second;
}

}  // namespace patchwave::agent
