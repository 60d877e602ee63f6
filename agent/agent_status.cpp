// The daemon's reports: signed status records into gossip (on every
// transition, every new refusal and periodically), the local control socket,
// and drift checks.
#include <spdlog/spdlog.h>

#include "agent/agent_daemon.hpp"
#include "agent/status_view.hpp"
#include "common/duration.hpp"

namespace patchwave::agent {

rollout::StatusRecord AgentDaemon::build_status(Timestamp time) const {
    const JournalState& journal = journal_->state();
    rollout::StatusRecord status;
    status.agent = host_.agent;
    status.sequence = journal.status_sequence;
    status.boot_id = boot_id_.substr(0, 128);
    status.time = time;
    for (const auto& rollout : journal.rollouts) {
        if (status.rollouts.size() >= rollout::StatusRecord::kMaxRollouts) break;
        rollout::RolloutStatus out{rollout.rollout_id, rollout.manifest_version, {}};
        for (const auto& bundle : rollout.bundles) {
            if (out.bundles.size() >= rollout::StatusRecord::kMaxBundlesPerRollout) break;
            rollout::BundleStatus entry;
            entry.bundle = bundle.id;
            entry.state = bundle.state;
            entry.since = bundle.since;
            if (bundle.state == rollout::HostState::failed) {
                entry.failed_step = bundle.failed_step;
                entry.failure_reason = bundle.failure_reason;
                entry.rolled_back = bundle.rolled_back;
            }
            entry.bytes_done = bundle.bytes_done;
            entry.bytes_total = bundle.bytes_total;
            if (auto progress = progress_.find(bundle.id);
                progress != progress_.end() && bundle.state == rollout::HostState::downloading) {
                entry.bytes_done = progress->second.first;
                entry.bytes_total = progress->second.second;
            }
            entry.attempts = std::min<std::uint32_t>(bundle.attempts, 1'000'000);
            out.bundles.push_back(std::move(entry));
        }
        status.rollouts.push_back(std::move(out));
    }
    status.reboot = reboot_status(journal, limits_of(), reboot_settings(), time);
    status.drift = journal.drift;
    if (status.drift.size() > rollout::StatusRecord::kMaxDriftFindings)
        status.drift.resize(rollout::StatusRecord::kMaxDriftFindings);
    status.refused = refusals_.entries();
    // The oldest refusals give way before the record outgrows what verifiers accept.
    while (!status.refused.empty() && status.to_json().size() > rollout::StatusRecord::kMaxBodySize)
        status.refused.erase(status.refused.begin());
    return status;
}

void AgentDaemon::publish_status() {
    if (stopping_ || !member_) return;
    status_dirty_ = false;
    if (refusals_dirty_) save_refusals();
    // The sequence is made durable before the record leaves: a restarted
    // agent never signs two different records with one sequence number.
    JournalState next = journal_->state();
    next.status_sequence += 1;
    stamp_trusted_time(next);
    if (auto written = journal_->commit(std::move(next)); !written) {
        spdlog::error("{}", written.error().message());
        return;
    }
    const rollout::StatusRecord status = build_status(now());
    auto bytes = status.sign(*identity_).encode();
    if (!bytes) {
        spdlog::error("cannot encode the status record: {}", bytes.error().message());
        return;
    }
    if (auto published = member_->publish(*bytes); !published)
        spdlog::warn("status record {} not published: {}", status.sequence, published.error().message());
    else
        spdlog::debug("published status record {}", status.sequence);
}

void AgentDaemon::schedule_status() {
    if (stopping_) return;
    status_timer_.expires_after(options_.config.status_interval);
    std::weak_ptr<bool> alive = alive_;
    status_timer_.async_wait([this, alive](boost::system::error_code error) {
        if (error || alive.expired()) return;
        publish_status();
        schedule_status();
    });
}

void AgentDaemon::check_drift() {
    if (stopping_) return;
    const Timestamp time = now();
    JournalState next = journal_->state();
    // Watched paths join the baseline the first time they are seen.
    std::vector<std::string> unwatched;
    for (const auto& path : options_.config.watch) {
        const bool known = std::any_of(next.baseline.begin(), next.baseline.end(),
                                       [&](const TrackedPath& tracked) { return tracked.path == path; });
        if (!known) unwatched.push_back(path);
    }
    if (!unwatched.empty()) {
        auto recorded = record_watched_paths(options_.config.system_root, unwatched, time);
        if (recorded)
            merge_baseline(next.baseline, *recorded);
        else
            spdlog::warn("cannot record watched paths: {}", recorded.error().message());
    }
    std::vector<Error> problems;
    auto findings = agent::check_drift(options_.config.system_root, next.baseline, next.drift, time, &problems);
    for (const auto& problem : problems) spdlog::warn("drift check: {}", problem.message());
    if (findings) {
        for (const auto& finding : *findings) {
            const bool known = std::any_of(next.drift.begin(), next.drift.end(), [&](const auto& old) {
                return old.path == finding.path && old.actual == finding.actual;
            });
            if (!known)
                spdlog::warn("drift: {} is {}, expected {}", finding.path, finding.actual, finding.expected);
        }
        next.drift = std::move(*findings);
    } else {
        spdlog::warn("drift check failed: {}", findings.error().message());
    }
    next.drift_checked = time;
    // drift_checked alone changes every time: commit (and publish) only for findings.
    if (next.drift != journal_->state().drift || next.baseline != journal_->state().baseline)
        commit(std::move(next), "drift");
    drift_timer_.expires_after(options_.config.drift_interval);
    std::weak_ptr<bool> alive = alive_;
    drift_timer_.async_wait([this, alive](boost::system::error_code error) {
        if (error || alive.expired()) return;
        check_drift();
    });
}

std::string AgentDaemon::handle_control(const std::string& request) {
    using nlohmann::json;
    json parsed = json::parse(request, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object() || !parsed.contains("command") || !parsed["command"].is_string())
        return json{{"ok", false}, {"error", "the request is not {\"command\": ...}"}}.dump();
    const std::string command = parsed["command"].get<std::string>();
    if (command == "status") {
        StatusViewInput input;
        input.journal = &journal_->state();
        input.running = true;
        input.agent = rollout::to_hex(host_.agent);
        input.host = certificate_.host;
        input.boot_id = boot_id_;
        for (const auto& [id, manifest] : manifests_) {
            Eligibility eligibility = evaluate_eligibility(manifest, control_of(id), member_->root(), host_, now());
            input.notes[id] = eligibility.reason;
            for (const auto& bundle : manifest.bundles) input.names[bundle.id] = bundle.name + " " + bundle.version;
        }
        input.reboot = reboot_status(journal_->state(), limits_of(), reboot_settings(), now());
        const auto decision =
            rollout::decide_reboot(reboot_input(journal_->state(), limits_of(), reboot_settings()), now());
        input.deferrals_left = decision.deferrals_left;
        input.reboot_note = reboot_reason_;
        input.refused = refusals_.entries();
        json view = status_view_json(input);
        return json{{"ok", true}, {"status", std::move(view)}}.dump();
    }
    if (command == "defer-reboot") {
        Duration defer_for = rollout::kDefaultDeferral;
        if (parsed.contains("for")) {
            if (!parsed["for"].is_string()) return json{{"ok", false}, {"error", "\"for\" is not a duration"}}.dump();
            auto parsed_for = parse_duration(parsed["for"].get<std::string>());
            if (!parsed_for) return json{{"ok", false}, {"error", parsed_for.error().message()}}.dump();
            defer_for = *parsed_for;
        }
        std::string refused = defer(defer_for);
        if (!refused.empty()) return json{{"ok", false}, {"error", refused}}.dump();
        const auto& reboot = journal_->state().reboot;
        return json{{"ok", true},
                    {"deferred_until", reboot.deferred_until ? format_timestamp(*reboot.deferred_until) : ""},
                    {"deferrals_used", reboot.deferrals_used}}
            .dump();
    }
    return json{{"ok", false}, {"error", "unknown command \"" + command + "\""}}.dump();
}

}  // namespace patchwave::agent
