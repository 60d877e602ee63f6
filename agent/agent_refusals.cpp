// What the agent refused, reported: records gossip refused before the agent
// saw them, records the agent refused itself (replays below its floors),
// bundles a manifest names that this host may not apply. Logged once, kept in
// refusals.json across restarts and sent in the status record.
#include <spdlog/spdlog.h>

#include "agent/agent_daemon.hpp"
#include "common/file_io.hpp"

namespace patchwave::agent {
namespace {

constexpr std::uint64_t kMaxRefusalsFile = 256 * 1024;

std::string subject_of(const net::gossip::RecordHeader& header) {
    using net::gossip::RecordType;
    switch (header.key.type) {
        case RecordType::manifest:
            return rollout::manifest_subject(header.key.id, header.version);
        case RecordType::control:
            return rollout::control_subject(header.key.id, header.version);
        case RecordType::root:
            return "trust root v" + std::to_string(header.version);
        case RecordType::certificate:
            return "certificate of " + rollout::short_hex(header.key.origin);
        case RecordType::status:
            return "status of " + rollout::short_hex(header.key.origin) + " #" + std::to_string(header.version);
    }
    return net::gossip::to_string(header);
}

}  // namespace

void AgentDaemon::load_refusals() {
    auto text = read_file(state_.refusals(), kMaxRefusalsFile);
    if (!text) {
        if (!text.error().is(Errc::not_found)) spdlog::warn("{}", text.error().message());
        return;
    }
    auto log = RefusalLog::from_json(*text);
    if (!log) {
        // Only a report: starting over loses history, not safety.
        spdlog::warn("{}: {}; starting an empty refusal list", state_.refusals().string(), log.error().message());
        return;
    }
    refusals_ = std::move(*log);
}

void AgentDaemon::save_refusals() {
    if (auto written = write_file_atomic(state_.refusals(), refusals_.to_json(), 0600); !written) {
        spdlog::warn("{}", written.error().message());
        return;
    }
    refusals_dirty_ = false;
}

void AgentDaemon::on_refused(const net::gossip::RecordHeader& header, const Error& error) {
    if (stopping_) return;
    // A root more than one version ahead cannot be judged yet (the ones
    // between are still on their way); it comes back once they are adopted.
    if (header.key.type == net::gossip::RecordType::root && member_ && header.version > member_->root().version + 1) {
        spdlog::debug("trust root v{} not judged yet: {}", header.version, error.message());
        return;
    }
    // The store prefixes the gossip header ("manifest/r1/v3: "); the subject says that already.
    std::string reason = error.message();
    if (const std::string prefix = net::gossip::to_string(header) + ": "; reason.starts_with(prefix))
        reason.erase(0, prefix.size());
    note_refusal(subject_of(header), reason);
}

void AgentDaemon::note_refusal(const std::string& subject, const std::string& reason, bool once) {
    const Timestamp at = now();
    switch (once ? refusals_.note_once(subject, reason, at) : refusals_.note(subject, reason, at)) {
        case RefusalLog::Noted::added:
            spdlog::warn("refused {}: {}", subject, reason);
            save_refusals();
            request_publish();
            break;
        case RefusalLog::Noted::repeated:
            // A forger pushing the same record again: counted, sent with the next status.
            spdlog::debug("refused {} again: {}", subject, reason);
            refusals_dirty_ = true;
            break;
        case RefusalLog::Noted::known:
            break;
    }
}

void AgentDaemon::note_bundle_refusals(const rollout::Manifest& manifest) {
    // Held, cancelled or under-approved bundles are never fetched nor applied
    // (the apply pipeline checks again at every reconcile); reported once.
    const Eligibility eligibility =
        evaluate_eligibility(manifest, control_of(manifest.rollout_id), member_->root(), host_, now());
    for (std::size_t i = 0; i < eligibility.refusals.size() && i < manifest.bundles.size(); ++i) {
        if (eligibility.refusals[i].empty()) continue;
        note_refusal(rollout::bundle_subject(manifest.bundles[i].id, manifest.rollout_id), eligibility.refusals[i],
                     /*once=*/true);
    }
}

void AgentDaemon::request_publish() {
    status_dirty_ = true;
    if (publish_posted_ || stopping_) return;
    publish_posted_ = true;
    publish_timer_.expires_after(std::chrono::milliseconds(100));
    std::weak_ptr<bool> alive = alive_;
    publish_timer_.async_wait([this, alive](boost::system::error_code error) {
        if (error || alive.expired()) return;
        publish_posted_ = false;
        publish_status();
    });
}

}  // namespace patchwave::agent
